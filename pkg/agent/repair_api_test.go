package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	cnins "github.com/containernetworking/plugins/pkg/ns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/firewall"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// TestAgentRepairsInSeconds: with the periodic resync an hour away, what
// someone deletes is back within seconds (the netlink monitor asks for a
// full resync): the tunnel device with its paths, a peer route, and with
// that resync the masquerade chain and the VXLAN filter. A pod CIDR change
// leaves no probe address of the old CIDR on lo.
func TestAgentRepairsInSeconds(t *testing.T) {
	needRoot(t)
	const token = "agent-token-repair"
	env := k8senv.Start(t, k8senv.Options{Tokens: []k8senv.Token{{Token: token, User: agentUser, UID: "agent",
		Groups: []string{"system:serviceaccounts", "system:authenticated"}}}})
	l := newLab(t)
	l.env = env
	var err error
	if l.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
		t.Fatal(err)
	}
	grantAgentRBAC(t, env)
	l.createNode(t, "node-a", "", []string{"192.168.77.1"}, "10.244.1.0/24")
	agentCfg := rest.CopyConfig(env.Config)
	agentCfg.BearerToken = token
	cs, err := coreapi.NewForConfig(agentCfg)
	if err != nil {
		t.Fatal(err)
	}
	nsA, err := nsOf(l.a)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := &config.Config{NodeName: "node-a", StateDir: stateDir, VNI: 1, VXLANPort: 4789, VXLANFilter: true,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		Decision:     decision.Config{Mode: decision.ModeAuto}, ResyncPeriod: time.Hour, ProbePeriod: time.Hour}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(&syncBuffer{}, testWriter{t}), nil))
	startAgent(t, cs, cfg, nsA, linux.IPTablesMasq{}, log, false)
	waitFor(t, 20*time.Second, "ready", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.Ready, fmt.Sprintf("%+v %v", s, err)
	})
	capable := offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	l.createNode(t, "node-c", annotation(t, peerFacts("192.168.88.3", vmac("192.168.88.3"), capable)), []string{"192.168.88.3"}, "10.244.3.0/24")
	const vxRoute = "10.244.3.0/24 via 10.244.3.0 dev oo-vxlan4"
	waitRoute(t, l, "-4", vxRoute, true)

	t.Log("tunnel device deleted: recreated with its path")
	run(t, "ip", "-n", l.a, "link", "del", "oo-vxlan4")
	waitRoute(t, l, "-4", vxRoute, true)

	t.Log("masquerade chain and VXLAN filter flushed, then a peer route deleted: all back")
	run(t, "ip", "netns", "exec", l.a, "iptables", "-t", "nat", "-F")
	if err := nsA.Do(func(cnins.NetNS) error { return firewall.Cleanup() }); err != nil {
		t.Fatal(err)
	}
	run(t, "ip", "-n", l.a, "route", "del", "10.244.3.0/24")
	waitRoute(t, l, "-4", vxRoute, true)
	waitFor(t, 15*time.Second, "masquerade and filter repaired", func() (bool, string) {
		nat := output("ip", "netns", "exec", l.a, "iptables", "-t", "nat", "-S")
		var tables string
		_ = nsA.Do(func(cnins.NetNS) error {
			c, err := firewall.ReadCounts()
			tables = fmt.Sprintf("%+v %v", c, err)
			return nil
		})
		nft := output("ip", "netns", "exec", l.a, "nft", "list", "tables")
		return strings.Contains(nat, "-j OO-MASQ") && strings.Contains(nat, "MASQUERADE") && strings.Contains(nft, firewall.TableName), nat + nft + tables
	})

	t.Log("pod CIDR changes (the Node is re-registered: spec.podCIDRs is immutable): the old probe address leaves lo")
	if err := l.admin.CoreV1().Nodes().Delete(context.Background(), "node-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	l.createNode(t, "node-a", "", []string{"192.168.77.1"}, "10.244.5.0/24")
	waitFor(t, 20*time.Second, "probe address moved", func() (bool, string) {
		lo := output("ip", "-n", l.a, "addr", "show", "dev", "lo")
		return strings.Contains(lo, "10.244.5.1/32") && !strings.Contains(lo, "10.244.1.1/32"), lo
	})

}
