package offload_test

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/internal/testenv/offloadtest"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// The verdict must match what the kernel does: with tunnel segmentation on
// the uplink, VXLAN super-packets leave eth0 whole (tens of KB per packet on
// the veth); without it, or with VXLAN nested inside a VXLAN underlay, they
// are cut before eth0 (about 1.5 KB per packet).
func TestVerdictMatchesKernelSegmentation(t *testing.T) {
	for _, c := range []struct {
		name      string
		virtio    bool
		nested    bool
		wantWhere string
	}{
		{"capable", false, false, offload.WherePassThrough},
		{"virtio-like", true, false, offload.WhereSoftware},
		{"nested", false, true, offload.WhereSoftware},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := offloadtest.NewNS(t), offloadtest.NewNS(t)
			if err := vxlanPair(a, b, c.virtio); err != nil {
				t.Fatal(err)
			}
			// The overlay runs over the path to the peer's tunnel endpoint:
			// the node IP, or the far end of the VXLAN underlay when nested.
			endpoint, dst := "10.0.0.2", "192.168.77.2"
			if c.nested {
				endpoint, dst = "192.168.77.2", "192.168.88.2"
				if err := nestedPair(a, b); err != nil {
					t.Fatal(err)
				}
			}
			p, err := offload.InspectIn(a, offload.Target{Dest: net.ParseIP(endpoint)})
			if err != nil {
				t.Fatal(err)
			}
			where := p.SegmentationFor(offload.TrafficVXLAN).Where
			capable := !c.virtio && !c.nested
			if where != c.wantWhere || p.Verdict().TunnelSegmentation != capable {
				t.Fatalf("doctor says %s (verdict %+v), want %s", where, p.Verdict(), c.wantWhere)
			}
			bytes, pkts := transfer(t, a, b, dst, 32<<20)
			avg := bytes / max(pkts, 1)
			t.Logf("eth0 sent %d bytes in %d packets: %d bytes per packet", bytes, pkts, avg)
			if !capable && avg > 2000 {
				t.Errorf("%s: %d bytes per packet, want software-segmented (~1.5 KB)", c.name, avg)
			}
			if capable && avg < 8000 {
				t.Errorf("capable uplink: %d bytes per packet, want super-packets (> 8 KB)", avg)
			}
		})
	}
}

// nestedPair adds a second VXLAN level (vx1: 192.168.88.X) over vx0.
func nestedPair(a, b ns.NetNS) error {
	end := func(x, y int) error {
		vx0, err := netlink.LinkByName("vx0")
		if err != nil {
			return err
		}
		vx := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "vx1", MTU: 1400}, VxlanId: 43, VtepDevIndex: vx0.Attrs().Index,
			SrcAddr: net.ParseIP(fmt.Sprintf("192.168.77.%d", x)), Group: net.ParseIP(fmt.Sprintf("192.168.77.%d", y)), Port: 4790}
		inner, _ := netlink.ParseAddr(fmt.Sprintf("192.168.88.%d/24", x))
		if err := netlink.LinkAdd(vx); err != nil {
			return fmt.Errorf("ip link add vx1 type vxlan: %w", err)
		}
		if err := netlink.AddrAdd(vx, inner); err != nil {
			return err
		}
		return netlink.LinkSetUp(vx)
	}
	if err := a.Do(func(ns.NetNS) error { return end(1, 2) }); err != nil {
		return err
	}
	return b.Do(func(ns.NetNS) error { return end(2, 1) })
}

// vxlanPair connects two namespaces by a veth (eth0 in each) and a VXLAN
// level over it (vx0: 192.168.77.1 and .2).
func vxlanPair(a, b ns.NetNS, virtio bool) error {
	err := a.Do(func(ns.NetNS) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0", PeerNamespace: netlink.NsFd(int(b.Fd()))}
		return netlink.LinkAdd(v)
	})
	if err != nil {
		return fmt.Errorf("creating veth: %w", err)
	}
	if err := b.Do(func(ns.NetNS) error { return renameUp("peer0", "eth0") }); err != nil {
		return err
	}
	if err := a.Do(func(ns.NetNS) error { return vxlanEnd(1, 2, virtio) }); err != nil {
		return err
	}
	return b.Do(func(ns.NetNS) error { return vxlanEnd(2, 1, false) })
}

func renameUp(from, to string) error {
	l, err := netlink.LinkByName(from)
	if err != nil {
		return err
	}
	return netlink.LinkSetName(l, to)
}

// vxlanEnd configures one end: eth0 10.0.0.X, vx0 192.168.77.X towards .Y.
func vxlanEnd(x, y int, virtio bool) error {
	eth0, err := netlink.LinkByName("eth0")
	if err != nil {
		return err
	}
	if virtio {
		e, err := ethtool.NewEthtool()
		if err != nil {
			return err
		}
		defer e.Close()
		if err := e.Change("eth0", map[string]bool{offload.FeatUDPTunnelSeg: false, offload.FeatUDPTunnelCsumSeg: false}); err != nil {
			return err
		}
	}
	lo, _ := netlink.LinkByName("lo")
	addr, _ := netlink.ParseAddr(fmt.Sprintf("10.0.0.%d/24", x))
	vx := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "vx0", MTU: 1450}, VxlanId: 42, VtepDevIndex: eth0.Attrs().Index,
		SrcAddr: net.ParseIP(fmt.Sprintf("10.0.0.%d", x)), Group: net.ParseIP(fmt.Sprintf("10.0.0.%d", y)), Port: 4789}
	inner, _ := netlink.ParseAddr(fmt.Sprintf("192.168.77.%d/24", x))
	for _, step := range []func() error{
		func() error { return netlink.LinkSetUp(lo) },
		func() error { return netlink.AddrAdd(eth0, addr) },
		func() error { return netlink.LinkSetUp(eth0) },
		func() error { return netlink.LinkAdd(vx) },
		func() error { return netlink.AddrAdd(vx, inner) },
		func() error { return netlink.LinkSetUp(vx) },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("vxlan end %d: %w", x, err)
		}
	}
	return nil
}

// transfer sends n bytes of TCP from a to dst in b and returns how many
// bytes and packets eth0 in a transmitted meanwhile.
func transfer(t *testing.T, a, b ns.NetNS, dst string, n int64) (uint64, uint64) {
	t.Helper()
	var ln net.Listener
	if err := b.Do(func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort(dst, "5201"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		done <- err
	}()
	before := txStats(t, a)
	err := a.Do(func(ns.NetNS) error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(dst, "5201"), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.CopyN(c, zeros{}, n)
		return err
	})
	if err != nil {
		t.Fatalf("sending: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("receiving: %v", err)
	}
	after := txStats(t, a)
	return after.TxBytes - before.TxBytes, after.TxPackets - before.TxPackets
}

func txStats(t *testing.T, n ns.NetNS) netlink.LinkStatistics {
	t.Helper()
	var st netlink.LinkStatistics
	if err := n.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		st = *l.Attrs().Statistics
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
