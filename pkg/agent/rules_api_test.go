package agent_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	cnins "github.com/containernetworking/plugins/pkg/ns"
	"k8s.io/client-go/kubernetes"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/internal/testenv/netnstest"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// TestAgentFollowsPolicyRules: the route to a peer is the one the kernel
// picks after `ip rule`, and a rule added or deleted at run time changes
// it without any route changing. With the periodic resync an hour away,
// the agent must notice the rule itself (issue 10, item 4):
//
//	node-a: a0 192.168.81.1/24 fd81::1/64 (node-b 192.168.81.5, fd81::5 on-link)
//	        a1 192.168.82.1/24 fd82::1/64
//	        table 100: 192.168.81.5 dev a1; fd81::5 via fd82::2 dev a1
//
// Table 100 exists before the agent starts, so no route changes during the
// test: only rules do. `ip rule add to 192.168.81.5 lookup 100` moves the
// IPv4 native route to a1 (programmed again on the new egress); `ip -6
// rule add to fd81::5 lookup 100` makes node-b's IPv6 off-link behind a
// gateway (native -> one VXLAN level: the pair is decided again);
// deleting both rules brings back the native routes on a0.
//
// (Not the other way round: an IPv6 route "via fd81::5 dev a1 onlink" is
// refused by the kernel while the main table reaches fd81::5 through a0,
// "device mismatch"; the agent then reports the path and retries it.)
func TestAgentFollowsPolicyRules(t *testing.T) {
	needRoot(t)
	env := k8senv.Start(t, k8senv.Options{})
	l := &lab{env: env}
	var err error
	if l.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
		t.Fatal(err)
	}
	nsA := ruleNode(t, l)
	l.createNode(t, "node-a", "", []string{"192.168.81.1", "fd81::1"}, "10.244.1.0/24", "fd00:10:244:1::/64")
	client, err := coreapi.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := &config.Config{NodeName: "node-a", StateDir: stateDir, VNI: 1, VXLANPort: 4789,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/48")},
		Decision:     decision.Config{Mode: decision.ModeAuto}, ResyncPeriod: time.Hour, ProbePeriod: time.Hour}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(&syncBuffer{}, testWriter{t}), nil))
	startAgent(t, client, cfg, nsA, nil, log, false)
	waitFor(t, time.Minute, "ready", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.Ready, fmt.Sprintf("%+v %v", s, err)
	})

	capable := offload.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	l.createNode(t, "node-b", annotation(t, nodeinfo.Facts{Version: nodeinfo.FactsVersion, AgentVersion: "test", Verdict: capable,
		UplinkMTU: 1500, Encaps: []string{"vxlan"},
		Endpoints: []nodeinfo.Endpoint{{IP: "192.168.81.5", VTEPMAC: vmac("192.168.81.5")}, {IP: "fd81::5", VTEPMAC: vmac("fd81::5")}}}),
		[]string{"192.168.81.5", "fd81::5"}, "10.244.2.0/24", "fd00:10:244:2::/64")
	const (
		native4 = "10.244.2.0/24 via 192.168.81.5 dev a0"
		onA1v4  = "10.244.2.0/24 via 192.168.81.5 dev a1"
		native6 = "fd00:10:244:2::/64 via fd81::5 dev a0"
		vxlan6  = "fd00:10:244:2::/64 via fd00:10:244:2:: dev oo-vxlan6"
	)
	waitRoute(t, l, "-4", native4, true)
	waitRoute(t, l, "-6", native6, true)

	t.Log("ip rule sends node-b's IPv4 through table 100, on-link on a1: the native route moves to a1")
	run(t, "ip", "-n", l.a, "rule", "add", "to", "192.168.81.5", "lookup", "100", "priority", "100")
	waitRoute(t, l, "-4", onA1v4, true)
	waitRoute(t, l, "-4", native4, false)
	if r := l.routes("-6"); !strings.Contains(r, native6) {
		t.Errorf("the IPv4 rule moved the IPv6 route:\n%s", r)
	}

	t.Log("ip -6 rule sends node-b's IPv6 through table 100, behind a gateway: native -> VXLAN")
	run(t, "ip", "-6", "-n", l.a, "rule", "add", "to", "fd81::5", "lookup", "100", "priority", "100")
	waitRoute(t, l, "-6", vxlan6, true)
	waitRoute(t, l, "-6", native6, false)

	t.Log("both rules deleted: native on a0 again")
	run(t, "ip", "-n", l.a, "rule", "del", "priority", "100")
	run(t, "ip", "-6", "-n", l.a, "rule", "del", "priority", "100")
	waitRoute(t, l, "-4", native4, true)
	waitRoute(t, l, "-6", native6, true)
	waitRoute(t, l, "-6", vxlan6, false)
}

// ruleNode builds node-a's namespace (see TestAgentFollowsPolicyRules)
// and returns it; l.a is its name.
func ruleNode(t *testing.T, l *lab) cnins.NetNS {
	t.Helper()
	name, nsA := netnstest.Add(t, oiPrefix, "rule")
	l.a = name
	for _, c := range [][]string{
		{"link", "add", "a0", "type", "veth", "peer", "name", "a0p"},
		{"link", "add", "a1", "type", "veth", "peer", "name", "a1p"},
		{"addr", "add", "192.168.81.1/24", "dev", "a0"}, {"addr", "add", "fd81::1/64", "dev", "a0", "nodad"},
		{"addr", "add", "192.168.82.1/24", "dev", "a1"}, {"addr", "add", "fd82::1/64", "dev", "a1", "nodad"},
		{"link", "set", "a0", "up"}, {"link", "set", "a0p", "up"}, {"link", "set", "a1", "up"}, {"link", "set", "a1p", "up"},
		{"route", "add", "192.168.81.5", "dev", "a1", "table", "100"},
		{"-6", "route", "add", "fd81::5", "via", "fd82::2", "dev", "a1", "table", "100"},
	} {
		run(t, append([]string{"ip", "-n", l.a}, c...)...)
	}
	return nsA
}
