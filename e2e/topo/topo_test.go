package topo

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/safchain/ethtool"
)

// testPrefix keeps this test's lab apart from a lab someone runs by hand.
const testPrefix = "oot-"

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping not installed: run make deps")
	}
}

// TestVariants builds every variant, checks that every node reaches every
// other node, the host and the internet over IPv4 and IPv6, that the
// uplink features are what the variant says, and that Down leaves nothing.
func TestVariants(t *testing.T) {
	requireRoot(t)
	for v := 1; v <= 5; v++ {
		t.Run(fmt.Sprintf("variant%d", v), func(t *testing.T) {
			spec, err := VariantSpec(v, false)
			if err != nil {
				t.Fatal(err)
			}
			spec.Prefix, spec.Site = testPrefix, 30
			unlock, err := Lock(testPrefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(unlock)
			t.Cleanup(func() { _ = Down(testPrefix) })
			lab, err := Up(spec)
			if err != nil {
				t.Fatalf("Up: %v", err)
			}
			checkReachability(t, lab)
			checkFeatures(t, lab)
			if err := Down(testPrefix); err != nil {
				t.Fatalf("Down: %v", err)
			}
			if err := Down(testPrefix); err != nil {
				t.Fatalf("second Down: %v", err)
			}
			if left, err := Leftovers(testPrefix); err != nil || len(left) > 0 {
				t.Fatalf("after Down: %v %v", left, err)
			}
		})
	}
}

func checkReachability(t *testing.T, lab *Topology) {
	t.Helper()
	for _, a := range lab.Nodes {
		dsts := append([]string{lab.HostIP}, lab.InternetIPs...)
		for _, b := range lab.Nodes {
			dsts = append(dsts, b.IPv4, b.IPv6)
		}
		for _, d := range dsts {
			if out, err := Exec(a.Netns, "ping", "-c1", "-W2", d); err != nil {
				t.Errorf("%s -> %s: %v\n%s", a.Name, d, err, out)
			}
		}
	}
	if out, err := exec.Command("ping", "-c1", "-W2", lab.Nodes[len(lab.Nodes)-1].IPv4).CombinedOutput(); err != nil {
		t.Errorf("host -> %s: %v\n%s", lab.Nodes[len(lab.Nodes)-1].IPv4, err, out)
	}
}

func checkFeatures(t *testing.T, lab *Topology) {
	t.Helper()
	for _, n := range lab.Nodes {
		var feats map[string]bool
		err := Do(n.Netns, func() error {
			e, err := ethtool.NewEthtool()
			if err != nil {
				return err
			}
			defer e.Close()
			feats, err = e.Features("eth0")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := feats["tx-udp_tnl-segmentation"]; got == n.NoTunnelOffload {
			t.Errorf("%s eth0 tx-udp_tnl-segmentation=%v, spec noTunnelOffload=%v", n.Name, got, n.NoTunnelOffload)
		}
		out, err := Exec(n.Netns, "ip", "-d", "link", "show", n.Uplink)
		if err != nil {
			t.Fatal(err)
		}
		if isVX := strings.Contains(out, "vxlan id"); isVX != (n.Segment == SegX) {
			t.Errorf("%s uplink %s vxlan=%v, segment %s", n.Name, n.Uplink, isVX, n.Segment)
		}
	}
}

func TestDescribeIsPure(t *testing.T) {
	s, _ := VariantSpec(5, false)
	a, err := Describe(s)
	if err != nil {
		t.Fatal(err)
	}
	if a.Nodes[3].Uplink != "vxul" || a.Nodes[3].MTU != 1450 || a.Nodes[0].IPv6 != "fd00:28:1::11" || a.Nodes[1].IPv4 != "172.28.2.12" {
		t.Fatalf("unexpected plan: %+v", a.Nodes)
	}
	if _, err := Describe(Spec{Prefix: "toolongprefix"}); err == nil {
		t.Fatal("long prefix accepted")
	}
}
