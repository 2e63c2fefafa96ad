package bgp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/bgprouter"
)

// fabric is a top-of-rack router (BIRD, AS 65000) in its own namespace and
// n node namespaces, node i on its own subnet 10.201.i.0/24 and
// fd00:201:i::/64 behind the router (.1 the router, .2 the node).
type fabric struct {
	router *bgprouter.Router
	rtrNS  string
	nodes  []fabricNode
}

type fabricNode struct {
	name       string // BIRD protocol name
	netns      string
	ip4, ip6   netip.Addr
	podCIDR4   netip.Prefix
	podCIDR6   netip.Prefix
	as         uint32
	password   string
	routerIPv4 netip.Addr
}

const fabricAS = 65000

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if why := bgprouter.Available(); why != "" {
		t.Skip(why)
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newFabric builds the namespaces and starts BIRD with one neighbour per
// node (nodeAS[i], passwords[i]); everything is removed at cleanup.
func newFabric(t *testing.T, nodeAS []uint32, passwords []string) *fabric {
	t.Helper()
	requireRoot(t)
	var rnd [3]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	f := &fabric{rtrNS: "oo-b-rtr-" + tag}
	run(t, "ip", "netns", "add", f.rtrNS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", f.rtrNS).Run() })
	run(t, "ip", "-n", f.rtrNS, "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", f.rtrNS, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	var nbrs []bgprouter.Neighbor
	for i, as := range nodeAS {
		n := fabricNode{
			name: fmt.Sprintf("node%d", i+1), netns: fmt.Sprintf("oo-b-n%d-%s", i+1, tag), as: as,
			ip4: netip.MustParseAddr(fmt.Sprintf("10.201.%d.2", i+1)), ip6: netip.MustParseAddr(fmt.Sprintf("fd00:201:%d::2", i+1)),
			routerIPv4: netip.MustParseAddr(fmt.Sprintf("10.201.%d.1", i+1)),
			podCIDR4:   netip.MustParsePrefix(fmt.Sprintf("10.244.%d.0/24", i+1)),
			podCIDR6:   netip.MustParsePrefix(fmt.Sprintf("fd00:10:244:%d::/64", i+1)),
		}
		if i < len(passwords) {
			n.password = passwords[i]
		}
		run(t, "ip", "netns", "add", n.netns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n.netns).Run() })
		rtrIf := fmt.Sprintf("oo-b-p%d", i+1)
		run(t, "ip", "-n", n.netns, "link", "add", "eth0", "type", "veth", "peer", "name", rtrIf, "netns", f.rtrNS)
		for _, side := range []struct{ ns, dev, host string }{{n.netns, "eth0", "2"}, {f.rtrNS, rtrIf, "1"}} {
			run(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
			run(t, "ip", "-n", side.ns, "addr", "add", fmt.Sprintf("10.201.%d.%s/24", i+1, side.host), "dev", side.dev)
			run(t, "ip", "-n", side.ns, "addr", "add", fmt.Sprintf("fd00:201:%d::%s/64", i+1, side.host), "dev", side.dev, "nodad")
			run(t, "ip", "-n", side.ns, "link", "set", side.dev, "up")
		}
		run(t, "ip", "-n", n.netns, "route", "add", "default", "via", n.routerIPv4.String())
		run(t, "ip", "-n", n.netns, "-6", "route", "add", "default", "via", fmt.Sprintf("fd00:201:%d::1", i+1))
		f.nodes = append(f.nodes, n)
		nbrs = append(nbrs, bgprouter.Neighbor{Name: n.name, Address: n.ip4, AS: as, Password: n.password})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := bgprouter.Start(ctx, bgprouter.Config{
		Netns: f.rtrNS, Dir: t.TempDir(), AS: fabricAS, RouterID: netip.MustParseAddr("10.201.0.1"), Neighbors: nbrs,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.router = r
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("BIRD log:\n%s", r.Log())
		}
		r.Stop()
	})
	return f
}

// eventually polls check until it returns nil, failing after timeout with
// its last error. The timeout bounds a hang; nothing is asserted about time.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kernelHas reports whether the router's kernel routes p via nh.
func (f *fabric) kernelHas(p netip.Prefix, nh netip.Addr) (bool, error) {
	routes, err := f.router.KernelRoutes(context.Background())
	if err != nil {
		return false, err
	}
	return routes[p] == nh, nil
}

func (f *fabric) waitKernel(t *testing.T, p netip.Prefix, nh netip.Addr, want bool) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("router kernel route %s via %s present=%t", p, nh, want), func() error {
		has, err := f.kernelHas(p, nh)
		if err != nil {
			return err
		}
		if has != want {
			routes, _ := f.router.KernelRoutes(context.Background())
			return fmt.Errorf("kernel routes now: %v", routes)
		}
		return nil
	})
}

func waitEstablished(t *testing.T, p *speakerProc, want bool) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("speaker in %s established=%t", p.netns, want), func() error {
		ss, err := p.sessions()
		if err != nil {
			return err
		}
		for _, s := range ss {
			if s.Established() != want {
				return fmt.Errorf("sessions %+v", ss)
			}
		}
		return nil
	})
}
