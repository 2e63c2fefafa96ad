package podnet

import (
	"os"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/safchain/ethtool"
)

func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		_ = testutils.UnmountNS(n)
	})
	return n
}

// handles returns netlink handles in host and pod, as the plugin opens them.
func handles(t *testing.T, host ns.NetNS, pod ns.NetNS) (netlinksafe.Handle, *PodNS) {
	t.Helper()
	var h netlinksafe.Handle
	if err := host.Do(func(ns.NetNS) error {
		var err error
		h, err = OpenHost()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPod(pod.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); p.Close() })
	return h, p
}

// features reads ethtool features of dev inside n.
func features(t *testing.T, n ns.NetNS, dev string) map[string]bool {
	t.Helper()
	var f map[string]bool
	err := n.Do(func(ns.NetNS) error {
		e, err := ethtool.NewEthtool()
		if err != nil {
			return err
		}
		defer e.Close()
		f, err = e.Features(dev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCreateVethOffloadsAndTeardown(t *testing.T) {
	host, pod := newNS(t), newNS(t)
	h, p := handles(t, host, pod)
	att := Attachment{Network: "pods", ContainerID: "ctr1", IfName: "eth0"}
	for _, tc := range []struct {
		name     string
		gso, gro int
	}{{"default sizes", 0, 0}, {"big tcp", 185000, 150000}} {
		t.Run(tc.name, func(t *testing.T) {
			spec := VethSpec{HostName: att.HostVeth(), PodIfName: "eth0", Alias: att.Alias(), MTU: 1450, GSOMaxSize: tc.gso, GROMaxSize: tc.gro}
			pair, err := CreateVeth(h, p.Handle, int(p.NS.Fd()), spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, end := range []struct {
				n    ns.NetNS
				h    netlinksafe.Handle
				name string
			}{{host, h, att.HostVeth()}, {pod, p.Handle, "eth0"}} {
				l, err := end.h.LinkByName(end.name)
				if err != nil {
					t.Fatal(err)
				}
				a := l.Attrs()
				wantGSO, wantGRO := uint32(tc.gso), uint32(tc.gro)
				if tc.gso == 0 {
					wantGSO, wantGRO = 65536, 65536
				}
				if a.MTU != 1450 || a.GSOMaxSize != wantGSO || a.GSOIPv4MaxSize != wantGSO || a.GROMaxSize != wantGRO || a.GROIPv4MaxSize != wantGRO {
					t.Errorf("%s: mtu %d gso %d/%d gro %d/%d", end.name, a.MTU, a.GSOMaxSize, a.GSOIPv4MaxSize, a.GROMaxSize, a.GROIPv4MaxSize)
				}
				f := features(t, end.n, end.name)
				if !f["tx-tcp-segmentation"] || !f["tx-generic-segmentation"] {
					t.Errorf("%s: TSO %v GSO %v, want both on", end.name, f["tx-tcp-segmentation"], f["tx-generic-segmentation"])
				}
			}
			if pair.Pod.Attrs().Name != "eth0" {
				t.Errorf("pod end %q", pair.Pod.Attrs().Name)
			}
			owned, err := ListOwnedVeths(h, "pods")
			if err != nil || len(owned) != 1 || owned[0].Attachment != att {
				t.Errorf("ListOwnedVeths: %v %v", owned, err)
			}
			if other, _ := ListOwnedVeths(h, "other"); len(other) != 0 {
				t.Errorf("other network sees %v", other)
			}
			for range 2 { // idempotent
				if err := DeleteHostVeth(h, att.HostVeth()); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := p.Handle.LinkByName("eth0"); err == nil {
				t.Error("pod end survived deleting the host end")
			}
		})
	}
}

func TestEnsureForwarding(t *testing.T) {
	host := newNS(t)
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	err := host.Do(func(ns.NetNS) error {
		if read(ipv4Forward) != "0" || read(ipv6Forward) != "0" {
			t.Fatal("fresh netns forwards already")
		}
		if err := EnsureForwarding(true, false); err != nil {
			return err
		}
		if read(ipv4Forward) != "1" || read(ipv6Forward) != "0" {
			t.Errorf("v4 only: ipv4 %s ipv6 %s", read(ipv4Forward), read(ipv6Forward))
		}
		if err := EnsureForwarding(true, true); err != nil {
			return err
		}
		if read(ipv6Forward) != "1" {
			t.Errorf("ipv6 forwarding %s", read(ipv6Forward))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
