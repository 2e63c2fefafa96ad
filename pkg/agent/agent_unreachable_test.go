package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// TestAgentTunnelUnderlay: node-a's uplink is itself a VXLAN device (a
// tunnel underlay). An off-link peer whose pod CIDR the underlay does not
// carry is unreachable (no second tunnel level): no route, a log line, an
// Event on node-a and a metric. Once the underlay carries the pod CIDRs
// (both ends say so), the peer is routed natively over the tunnel.
func TestAgentTunnelUnderlay(t *testing.T) {
	needRoot(t)
	const token = "agent-token-tunnel-underlay"
	env := k8senv.Start(t, k8senv.Options{Tokens: []k8senv.Token{{Token: token, User: agentUser, UID: "agent",
		Groups: []string{"system:serviceaccounts", "system:authenticated"}}}})
	l := &lab{env: env}
	var err error
	if l.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
		t.Fatal(err)
	}
	grantAgentRBAC(t, env)
	l.a, _ = addNetns(t, "ta")
	l.r, _ = addNetns(t, "tr")
	run(t, "ip", "-n", l.a, "link", "add", "a0", "type", "veth", "peer", "name", "r0", "netns", l.r)
	for _, c := range [][]string{
		{l.a, "addr", "add", "172.30.0.1/24", "dev", "a0"}, {l.a, "link", "set", "a0", "up"},
		{l.r, "addr", "add", "172.30.0.2/24", "dev", "r0"}, {l.r, "link", "set", "r0", "up"},
		{l.a, "link", "add", "u0", "type", "vxlan", "id", "42", "remote", "172.30.0.2", "dstport", "4790", "dev", "a0"},
		{l.a, "addr", "add", "192.168.99.1/24", "dev", "u0"}, {l.a, "link", "set", "u0", "up"},
		{l.a, "route", "add", "192.168.88.0/24", "via", "192.168.99.2", "dev", "u0"},
	} {
		run(t, append([]string{"ip", "-n"}, c...)...)
	}
	l.createNode(t, "node-a", "", []string{"192.168.99.1"}, "10.244.1.0/24")

	agentCfg := rest.CopyConfig(env.Config)
	agentCfg.BearerToken = token
	cs, err := coreapi.NewForConfig(agentCfg) // the binary's client
	if err != nil {
		t.Fatal(err)
	}
	nsA, err := nsOf(l.a)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := &config.Config{NodeName: "node-a", StateDir: stateDir, VNI: 1, VXLANPort: 4789,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		Decision:     decision.Config{Mode: decision.ModeAuto}, ResyncPeriod: time.Hour, ProbePeriod: time.Hour}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil))
	a := startAgent(t, cs, cfg, nsA, nil, log, false)
	waitFor(t, 20*time.Second, "ready", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.Ready, fmt.Sprintf("%+v %v", s, err)
	})
	if f := l.facts(t, "node-a"); f.Verdict.UnderlayTunnel != "vxlan" {
		t.Fatalf("uplink u0 not seen as a VXLAN underlay: %+v", f.Verdict)
	}

	t.Log("off-link peer, underlay does not carry its pod CIDR: unreachable")
	xf := peerFacts("192.168.88.9", vmac("192.168.88.9"), offloadtypes.Verdict{UnderlayTunnel: "vxlan", UnderlayTunnelDevice: "u0"})
	l.createNode(t, "node-x", annotation(t, xf), []string{"192.168.88.9"}, "10.244.9.0/24")
	waitFor(t, 10*time.Second, "PeerUnreachable event on node-a", func() (bool, string) {
		evs, err := l.admin.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=node-a,reason=PeerUnreachable"})
		if err != nil || len(evs.Items) == 0 {
			return false, fmt.Sprint(err)
		}
		return strings.Contains(evs.Items[0].Message, "node-x") && strings.Contains(evs.Items[0].Message, "10.244.9.0/24"), evs.Items[0].Message
	})
	if r := l.routes("-4"); strings.Contains(r, "10.244.9.0") {
		t.Errorf("unreachable peer got a route:\n%s", r)
	}
	if !strings.Contains(logs.String(), "peer unreachable") {
		t.Errorf("no log line for the unreachable peer")
	}
	// The Event is posted while the sync goes on (publish, state file,
	// metrics): wait for the rest of it.
	waitFor(t, 10*time.Second, "unreachable metric", func() (bool, string) {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return strings.Contains(rec.Body.String(), "offload_overlay_unreachable_peers 1"), rec.Body.String()
	})
	waitFor(t, 10*time.Second, "unreachable in the state modes", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.Modes["unreachable"] == 1, fmt.Sprintf("%+v %v", s, err)
	})

	t.Log("the underlay carries the pod CIDRs on both ends: native over the tunnel, no second level")
	t.Log("(resync is 1 h: the route monitor must notice the new underlay route)")
	run(t, "ip", "-n", l.a, "route", "add", "10.244.0.0/16", "via", "192.168.99.2", "dev", "u0")
	xf.UnderlayRoutes = map[string]bool{"node-a": true}
	l.setAnnotation(t, "node-x", annotation(t, xf))
	waitRoute(t, l, "-4", "10.244.9.0/24 via 192.168.99.2 dev u0", true)
	waitFor(t, 10*time.Second, "node-a publishes underlayRoutes[node-x]", func() (bool, string) {
		f := l.facts(t, "node-a")
		return f.UnderlayRoutes["node-x"], fmt.Sprint(f.UnderlayRoutes)
	})
}
