package dplab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
)

// Lab is a set of node and pod namespaces joined by one bridge.
type Lab struct {
	Prefix string
	Nodes  []*Node
	names  []string    // namespaces to delete, in creation order
	procs  []*exec.Cmd // processes to kill
}

// Options shape a lab.
type Options struct {
	Nodes, PodsPerNode int
	// PodMTU of the pod veths (default 1430: fits a VXLAN over IPv6 path).
	PodMTU int
	// LargeRmem gives pods net.ipv4.tcp_rmem "4096 16777216 33554432"
	// (see /work/shared/kernel-lab.md: stable iperf3 figures).
	LargeRmem bool
	// Prefix starts every namespace name before a random part; default
	// "oo-dp-" (a test that wants its own name space passes e.g. "oo-rp-").
	Prefix string
}

// Node is a node namespace.
type Node struct {
	Lab                *Lab
	Index              int
	Name               string // namespace name
	NS                 ns.NetNS
	Uplink             string // "eth0"
	IP4, IP6           netip.Addr
	PodCIDR4, PodCIDR6 netip.Prefix
	Pods               []*Pod
}

// Pod is a pod namespace behind a node.
type Pod struct {
	Node     *Node
	Name     string
	NS       ns.NetNS
	IP4, IP6 netip.Addr
}

// New builds a lab, or skips the test when not root. Everything is removed
// by t.Cleanup.
func New(t testing.TB, o Options) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if o.PodMTU == 0 {
		o.PodMTU = 1430
	}
	if o.Prefix == "" {
		o.Prefix = "oo-dp-"
	}
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	l := &Lab{Prefix: o.Prefix + hex.EncodeToString(b) + "-"}
	t.Cleanup(l.Close)
	if err := l.build(o); err != nil {
		t.Fatalf("building lab: %v", err)
	}
	return l
}

func (l *Lab) build(o Options) error {
	sw := l.Prefix + "sw"
	if err := l.addNS(sw); err != nil {
		return err
	}
	if err := run("ip", "-n", sw, "link", "add", "br0", "type", "bridge"); err != nil {
		return err
	}
	if err := run("ip", "-n", sw, "link", "set", "br0", "up"); err != nil {
		return err
	}
	for i := 1; i <= o.Nodes; i++ {
		n, err := l.addNode(i, sw)
		if err != nil {
			return err
		}
		for j := 1; j <= o.PodsPerNode; j++ {
			if err := n.addPod(j, o); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Lab) addNS(name string) error {
	if err := run("ip", "netns", "add", name); err != nil {
		return err
	}
	l.names = append(l.names, name)
	return run("ip", "-n", name, "link", "set", "lo", "up")
}

func (l *Lab) addNode(i int, sw string) (*Node, error) {
	n := &Node{
		Lab: l, Index: i, Name: fmt.Sprintf("%sn%d", l.Prefix, i), Uplink: "eth0",
		IP4:      netip.MustParseAddr(fmt.Sprintf("192.168.77.%d", i)),
		IP6:      netip.MustParseAddr(fmt.Sprintf("fd00:77::%d", i)),
		PodCIDR4: netip.MustParsePrefix(fmt.Sprintf("10.244.%d.0/24", i)),
		PodCIDR6: netip.MustParsePrefix(fmt.Sprintf("fd00:244:%d::/64", i)),
	}
	if err := l.addNS(n.Name); err != nil {
		return nil, err
	}
	port := fmt.Sprintf("n%d", i)
	err := runAll(
		[]string{"ip", "link", "add", "eth0", "netns", n.Name, "type", "veth", "peer", "name", port, "netns", sw},
		[]string{"ip", "-n", sw, "link", "set", port, "master", "br0", "up"},
		[]string{"ip", "-n", n.Name, "addr", "add", n.IP4.String() + "/24", "dev", "eth0"},
		[]string{"ip", "-n", n.Name, "addr", "add", n.IP6.String() + "/64", "dev", "eth0", "nodad"},
		[]string{"ip", "-n", n.Name, "link", "set", "eth0", "up"},
		[]string{"ip", "netns", "exec", n.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"},
	)
	if err != nil {
		return nil, err
	}
	if n.NS, err = ns.GetNS("/run/netns/" + n.Name); err != nil {
		return nil, err
	}
	l.Nodes = append(l.Nodes, n)
	return n, nil
}

func (n *Node) addPod(j int, o Options) error {
	p := &Pod{
		Node: n, Name: fmt.Sprintf("%sp%d", n.Name, j),
		IP4: netip.MustParseAddr(fmt.Sprintf("10.244.%d.%d", n.Index, 10+j)),
		IP6: netip.MustParseAddr(fmt.Sprintf("fd00:244:%d::%d", n.Index, 10+j)),
	}
	if err := n.Lab.addNS(p.Name); err != nil {
		return err
	}
	hv, mtu := fmt.Sprintf("p%d", j), fmt.Sprint(o.PodMTU)
	cmds := [][]string{
		{"ip", "link", "add", "eth0", "mtu", mtu, "netns", p.Name, "type", "veth", "peer", "name", hv, "mtu", mtu, "netns", n.Name},
		{"ip", "-n", n.Name, "addr", "add", "169.254.1.1/32", "dev", hv},
		{"ip", "-n", n.Name, "addr", "add", "fe80::1/64", "dev", hv, "nodad"},
		{"ip", "-n", n.Name, "link", "set", hv, "up"},
		{"ip", "-n", n.Name, "route", "add", p.IP4.String() + "/32", "dev", hv},
		{"ip", "-n", n.Name, "route", "add", p.IP6.String() + "/128", "dev", hv},
		{"ip", "-n", p.Name, "addr", "add", p.IP4.String() + "/32", "dev", "eth0"},
		{"ip", "-n", p.Name, "addr", "add", p.IP6.String() + "/128", "dev", "eth0", "nodad"},
		{"ip", "-n", p.Name, "link", "set", "eth0", "up"},
		{"ip", "-n", p.Name, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"},
		{"ip", "-n", p.Name, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"},
		{"ip", "-n", p.Name, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0"},
	}
	if o.LargeRmem {
		cmds = append(cmds, []string{"ip", "netns", "exec", p.Name, "sysctl", "-qw", "net.ipv4.tcp_rmem=4096 16777216 33554432"})
	}
	if err := runAll(cmds...); err != nil {
		return err
	}
	var err error
	if p.NS, err = ns.GetNS("/run/netns/" + p.Name); err != nil {
		return err
	}
	n.Pods = append(n.Pods, p)
	return nil
}

// Close kills the lab's processes and deletes its namespaces.
func (l *Lab) Close() {
	for _, c := range l.procs {
		if c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for _, n := range l.Nodes {
		for _, p := range n.Pods {
			if p.NS != nil {
				p.NS.Close()
			}
		}
		if n.NS != nil {
			n.NS.Close()
		}
	}
	for i := len(l.names) - 1; i >= 0; i-- {
		_ = run("ip", "netns", "del", l.names[i])
	}
	l.names, l.procs = nil, nil
}

// Start runs a background command inside namespace nsName (stdout
// discarded, stderr passed through); Close kills it.
func (l *Lab) Start(nsName string, args ...string) (*exec.Cmd, error) {
	c := exec.Command("ip", append([]string{"netns", "exec", nsName}, args...)...)
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		return nil, err
	}
	l.procs = append(l.procs, c)
	return c, nil
}

// Exec runs a command inside namespace nsName and returns its stdout.
func Exec(nsName string, args ...string) (string, error) {
	return output("ip", append([]string{"netns", "exec", nsName}, args...)...)
}

func run(args ...string) error {
	_, err := output(args[0], args[1:]...)
	return err
}

func runAll(cmds ...[]string) error {
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

func output(name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
