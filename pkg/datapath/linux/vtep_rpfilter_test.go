package linux_test

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// rpNode is a lab node programmed by the agent's production kernel.
type rpNode struct {
	*dplab.Node
	kernel datapath.Kernel
	local  datapath.LocalNode
	up     datapath.Uplink
	paths  []datapath.Path
}

// TestNodeToPodOverVXLANStrictRPFilter: two nodes with strict rp_filter on
// every device, every pair VXLAN. The node namespace itself (not a pod:
// hostNetwork pods, kubelet probes, kube-proxy) reaches a pod on the other
// node by ICMP and TCP with its VTEP address as source, a pod reaches the
// node's VTEP address, MASQUERADE onto the tunnel (kube-proxy's, also for
// the node's Service traffic) picks the VTEP address, and the same holds
// for IPv6 (no rp_filter there: reachability and source).
// A control shows rp_filter dropping the uplink address as source; a
// restart writes no address; cleanup removes it with the device.
func TestNodeToPodOverVXLANStrictRPFilter(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1, Prefix: "oo-rp-"})
	for _, n := range l.Nodes {
		strictRPFilter(t, n.Name) // all and default: the tunnel devices inherit it
	}
	nodes := convergeVXLAN(t, l)
	for _, n := range nodes {
		strictRPFilter(t, n.Name) // and every device that exists now
		if got := strings.TrimSpace(run(t, "ip", "netns", "exec", n.Name, "cat", "/proc/sys/net/ipv4/conf/oo-vxlan4/rp_filter")); got != "1" {
			t.Fatalf("%s: oo-vxlan4 rp_filter = %s, want 1", n.Name, got)
		}
	}
	a, b := nodes[0], nodes[1]
	nodeA := &dplab.Pod{Node: a.Node, Name: a.Name, NS: a.NS} // the node's own namespace as an endpoint
	podA, podB := a.Pods[0], b.Pods[0]

	for _, fam := range []struct {
		name       string
		vtepA, dst netip.Addr
	}{
		{"ipv4", peers.VTEPAddr(a.PodCIDR4), podB.IP4},
		{"ipv6", peers.VTEPAddr(a.PodCIDR6), podB.IP6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			if err := nodeA.Ping(fam.dst); err != nil {
				t.Errorf("node A -> pod B: %v", err)
			}
			if err := nodeA.TCPEcho(podB, fam.dst, 256<<10); err != nil {
				t.Errorf("node A -> pod B: %v", err)
			}
			if src, err := sourceSeen(t, nodeA, podB, fam.dst); err != nil || src != fam.vtepA {
				t.Errorf("pod B sees node A as %s (%v), want its VTEP address %s", src, err, fam.vtepA)
			}
			if err := podB.Ping(fam.vtepA); err != nil {
				t.Errorf("pod B -> node A's VTEP address: %v", err)
			}
			if err := podB.TCPEcho(nodeA, fam.vtepA, 256<<10); err != nil {
				t.Errorf("pod B -> node A's VTEP address: %v", err)
			}
		})
	}

	t.Run("masquerade onto the tunnel picks the VTEP address", func(t *testing.T) {
		for _, fam := range []struct {
			tool, dev  string
			vtepA, dst netip.Addr
		}{
			{"iptables", "oo-vxlan4", peers.VTEPAddr(a.PodCIDR4), podB.IP4},
			{"ip6tables", "oo-vxlan6", peers.VTEPAddr(a.PodCIDR6), podB.IP6},
		} {
			if _, err := exec.LookPath(fam.tool); err != nil {
				t.Skipf("no %s: %v", fam.tool, err)
			}
			run(t, "ip", "netns", "exec", a.Name, fam.tool, "-t", "nat", "-A", "POSTROUTING", "-o", fam.dev, "-j", "MASQUERADE")
			if src, err := sourceSeen(t, podA, podB, fam.dst); err != nil || src != fam.vtepA {
				t.Errorf("%s: pod B sees pod A masqueraded as %s (%v), want %s", fam.dev, src, err, fam.vtepA)
			}
			run(t, "ip", "netns", "exec", a.Name, fam.tool, "-t", "nat", "-D", "POSTROUTING", "-o", fam.dev, "-j", "MASQUERADE")
		}
	})

	t.Run("node to a Service backed by a pod on node B", func(t *testing.T) {
		// kube-proxy's iptables rules for one ClusterIP, reduced: traffic
		// from outside the cluster CIDR is marked, DNATed to the backend
		// and masqueraded. The node picks its uplink address for the
		// ClusterIP (its route leaves by the uplink); after DNAT the packet
		// leaves by oo-vxlan4 and MASQUERADE gives it the VTEP address.
		if _, err := exec.LookPath("iptables"); err != nil {
			t.Skipf("no iptables: %v", err)
		}
		const clusterIP = "10.96.0.10"
		run(t, "ip", "-n", a.Name, "route", "add", "10.96.0.0/12", "dev", a.Uplink)
		dnat := []string{"OUTPUT", "-d", clusterIP, "-p", "tcp", "-j", "DNAT", "--to-destination", podB.IP4.String()}
		mark := []string{"OUTPUT", "-d", clusterIP, "!", "-s", "10.244.0.0/16", "-j", "MARK", "--set-xmark", "0x4000/0x4000"}
		masq := []string{"POSTROUTING", "-m", "mark", "--mark", "0x4000/0x4000", "-j", "MASQUERADE"}
		for _, r := range [][]string{mark, dnat, masq} {
			run(t, append([]string{"ip", "netns", "exec", a.Name, "iptables", "-t", "nat", "-A"}, r...)...)
		}
		if src, err := sourceSeen(t, nodeA, podB, netip.MustParseAddr(clusterIP)); err != nil || src != peers.VTEPAddr(a.PodCIDR4) {
			t.Errorf("pod B sees node A's Service traffic from %s (%v), want %s", src, err, peers.VTEPAddr(a.PodCIDR4))
		}
		// Without the mark (kube-proxy not told the cluster CIDR) nothing
		// rewrites the uplink source and node B's rp_filter drops it.
		run(t, append([]string{"ip", "netns", "exec", a.Name, "iptables", "-t", "nat", "-D"}, mark...)...)
		if _, err := sourceSeen(t, nodeA, podB, netip.MustParseAddr(clusterIP)); err == nil {
			t.Logf("without kube-proxy's mark the Service traffic got through too")
		} else {
			t.Logf("without kube-proxy's mark (no --cluster-cidr): %v (expected: uplink source, rp_filter)", err)
		}
		for _, r := range [][]string{dnat, masq} {
			run(t, append([]string{"ip", "netns", "exec", a.Name, "iptables", "-t", "nat", "-D"}, r...)...)
		}
	})

	t.Run("control: the uplink address as source is dropped, a re-converge repairs", func(t *testing.T) {
		// Without the VTEP address and with nothing global on lo, the
		// kernel takes the uplink's address (the first global one of any
		// device) and node B's strict rp_filter drops what arrives from it
		// on oo-vxlan4. Deleting the device's last IPv4 address flushes the
		// routes and neighbours on it, so the peer's are put back by hand.
		vtepB := peers.VTEPAddr(b.PodCIDR4).String()
		run(t, "ip", "-n", a.Name, "addr", "del", peers.VTEPAddr(a.PodCIDR4).String()+"/32", "dev", "oo-vxlan4")
		run(t, "ip", "-n", a.Name, "addr", "del", "10.244.1.1/32", "dev", "lo")
		run(t, "ip", "-n", a.Name, "neigh", "replace", vtepB, "lladdr", overlay.VTEPMAC(b.IP4).String(), "dev", "oo-vxlan4", "nud", "permanent")
		run(t, "ip", "-n", a.Name, "route", "replace", b.PodCIDR4.String(), "via", vtepB,
			"dev", "oo-vxlan4", "onlink", "proto", "0x4f")
		if r := run(t, "ip", "-n", a.Name, "route", "get", podB.IP4.String()); !strings.Contains(r, "src "+a.IP4.String()) {
			t.Fatalf("control: route without the VTEP address: %s", r)
		}
		drops := rpFilterDrops(t, b.Name)
		if err := nodeA.Ping(podB.IP4); err == nil {
			t.Errorf("control: node A's uplink address passed node B's strict rp_filter")
		}
		if d := rpFilterDrops(t, b.Name) - drops; d == 0 {
			t.Errorf("control: node B counted no rp_filter drop (TcpExt IPReversePathFilter)")
		}
		restartKernel(t, a)
		if got := vxlanAddrs(t, a.Name); got != "oo-vxlan4 10.244.1.0/32 oo-vxlan6 fd00:244:1::/128" {
			t.Errorf("addresses after repair: %q", got)
		}
		if err := nodeA.Ping(podB.IP4); err != nil {
			t.Errorf("after repair: %v", err)
		}
	})

	t.Run("restart adopts the addresses", func(t *testing.T) {
		mon := exec.Command("ip", "-n", a.Name, "monitor", "address")
		monOut := &syncBuffer{}
		mon.Stdout, mon.Stderr = monOut, monOut
		if err := mon.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		restartKernel(t, a)
		time.Sleep(200 * time.Millisecond)
		_ = mon.Process.Kill()
		_ = mon.Wait()
		for _, line := range strings.Split(monOut.String(), "\n") {
			// The kernel's own fe80:: leaving DAD is not a restart's doing.
			if strings.Contains(line, "inet") && !strings.Contains(line, "fe80::") {
				t.Errorf("restart changed an address: %s", line)
			}
		}
	})

	t.Run("cleanup removes the address with the device", func(t *testing.T) {
		if err := a.kernel.Cleanup(a.local.PodCIDRs); err != nil {
			t.Fatal(err)
		}
		if addrs := run(t, "ip", "-n", a.Name, "addr", "show"); strings.Contains(addrs, "10.244.1.0") || strings.Contains(addrs, "fd00:244:1::/") {
			t.Errorf("VTEP address left after cleanup:\n%s", addrs)
		}
	})
}

// convergeVXLAN programs every node of l with the agent's kernel: tunnel
// devices, then a VXLAN path per peer and family.
func convergeVXLAN(t *testing.T, l *dplab.Lab) []*rpNode {
	t.Helper()
	var out []*rpNode
	for _, n := range l.Nodes {
		h, err := n.Handle()
		if err != nil {
			t.Fatal(err)
		}
		up, err := h.LinkByName(n.Uplink)
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		rn := &rpNode{Node: n,
			local: datapath.LocalNode{Name: n.Name, IPs: []netip.Addr{n.IP4, n.IP6}, PodCIDRs: []netip.Prefix{n.PodCIDR4, n.PodCIDR6}},
			up:    datapath.Uplink{Name: n.Uplink, Index: up.Attrs().Index, MTU: up.Attrs().MTU}}
		for _, m := range l.Nodes {
			if m == n {
				continue
			}
			for _, p := range []struct {
				cidr netip.Prefix
				ip   netip.Addr
			}{{m.PodCIDR4, m.IP4}, {m.PodCIDR6, m.IP6}} {
				fam := 4
				if p.ip.Is6() {
					fam = 6
				}
				rn.paths = append(rn.paths, datapath.Path{Peer: m.Name, Family: fam, PodCIDR: p.cidr, PeerIP: p.ip,
					PeerMAC: overlay.VTEPMAC(p.ip), Mode: decision.ModeVXLAN, DevIndex: rn.up.Index})
			}
		}
		restartKernel(t, rn)
		out = append(out, rn)
	}
	return out
}

// restartKernel starts a fresh kernel for n (as a restarted agent does) and
// converges node setup and paths.
func restartKernel(t *testing.T, n *rpNode) {
	t.Helper()
	k, err := linux.New(linux.Config{NetNS: n.NS, VNI: 1, Port: 4789})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.EnsureNode(n.local, n.up); err != nil {
		t.Fatalf("%s: EnsureNode: %v", n.Name, err)
	}
	if err := k.ApplyPaths(n.paths, nil); err != nil {
		t.Fatalf("%s: ApplyPaths: %v", n.Name, err)
	}
	n.kernel = k
}

// strictRPFilter sets rp_filter=1 on all, default and every device of the
// namespace (RHEL-like hosts' default).
// Equivalent to: sysctl -w net.ipv4.conf.{all,default,<dev>...}.rp_filter=1
func strictRPFilter(t *testing.T, nsName string) {
	t.Helper()
	run(t, "ip", "netns", "exec", nsName, "sh", "-c", "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 1 > $f; done")
}

// sourceSeen connects from p to q at dst (q's address, or one that NAT
// turns into it) and returns the source address q's listener sees.
func sourceSeen(t *testing.T, p, q *dplab.Pod, dst netip.Addr) (netip.Addr, error) {
	t.Helper()
	ln, err := q.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan netip.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		seen <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	}()
	c, err := p.Dial(dst, ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("tcp %s -> %s: %w", p.Name, dst, err)
	}
	defer c.Close()
	select {
	case a := <-seen:
		return a, nil
	case <-time.After(3 * time.Second):
		return netip.Addr{}, fmt.Errorf("tcp %s -> %s: not accepted", p.Name, dst)
	}
}

// vxlanAddrs lists the global addresses of the tunnel devices.
// Equivalent to: ip -o addr show scope global (devices oo-vxlan*)
func vxlanAddrs(t *testing.T, nsName string) string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(run(t, "ip", "-n", nsName, "-o", "addr", "show", "scope", "global"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[1], "oo-vxlan") {
			out = append(out, f[1]+" "+f[3])
		}
	}
	return strings.Join(out, " ")
}

// rpFilterDrops reads the namespace's count of packets rp_filter dropped.
// Equivalent to: ip netns exec $ns nstat -az TcpExtIPReversePathFilter
func rpFilterDrops(t *testing.T, nsName string) int {
	t.Helper()
	lines := strings.Split(run(t, "ip", "netns", "exec", nsName, "cat", "/proc/net/netstat"), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j := range names {
			if names[0] == "TcpExt:" && names[j] == "IPReversePathFilter" && j < len(values) {
				n, err := strconv.Atoi(values[j])
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
	}
	t.Fatal("no TcpExt IPReversePathFilter in /proc/net/netstat")
	return 0
}
