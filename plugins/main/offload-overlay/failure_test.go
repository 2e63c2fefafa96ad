package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

// Each failing ADD must leave no veth, no route, no IPAM record and no
// sysctl change behind, in the host or the pod.
func TestAddFailures(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)

	t.Run("ipam exhausted", func(t *testing.T) {
		dataDir := t.TempDir()
		conf := testConf{Version: "1.1.0", Name: "tiny", MTU: 1400, DataDir: dataDir,
			IPAM: map[string]any{"ranges": [][]map[string]string{{{"subnet": "10.72.0.0/24", "rangeStart": "10.72.0.5", "rangeEnd": "10.72.0.5"}}}}}.bytes(t)
		// The only address goes to a pod in another host netns.
		other := newNS(t)
		first := newPod(t, "ctr-first", conf)
		if err := first.add(t, other); err != nil {
			t.Fatalf("first ADD: %v", err)
		}
		t.Cleanup(func() { _ = first.del(other) })
		host := newNS(t)
		p := newPod(t, "ctr-second", conf)
		err := p.add(t, host)
		if err == nil {
			t.Fatal("ADD succeeded with an exhausted range")
		}
		t.Logf("error: %v", err)
		assertNoTrace(t, host, p, dataDir, "tiny", 1)
	})

	t.Run("netns gone", func(t *testing.T) {
		dataDir := t.TempDir()
		host := newNS(t)
		conf := testConf{Version: "1.1.0", Name: "gone", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.73.0.0/24"}}.bytes(t)
		p := newPod(t, "ctr-gone", conf)
		p.args.Netns = filepath.Join(t.TempDir(), "no-such-netns")
		var err error
		_ = host.Do(func(ns.NetNS) error { err = cmdAdd(p.args); return nil })
		var nsErr ns.NSPathNotExistErr
		if !errors.As(err, &nsErr) {
			t.Fatalf("want NSPathNotExistErr, got %v", err)
		}
		assertNoTrace(t, host, p, dataDir, "gone", 0)
	})

	t.Run("host veth name clash", func(t *testing.T) {
		dataDir := t.TempDir()
		host := newNS(t)
		conf := testConf{Version: "1.1.0", Name: "clash", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.74.0.0/24", "fd74::/64"}}.bytes(t)
		p := newPod(t, "ctr-clash", conf)
		// Someone else's link already has the name.
		squatter := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: p.hostVeth()}, PeerName: "squatpeer"}
		if err := handle(t, host).LinkAdd(squatter); err != nil {
			t.Fatal(err)
		}
		err := p.add(t, host)
		if !errors.Is(err, podnet.ErrLinkExists) {
			t.Fatalf("want ErrLinkExists, got %v", err)
		}
		if !linkExists(t, host, p.hostVeth()) || !linkExists(t, host, "squatpeer") {
			t.Fatal("the existing link was removed")
		}
		assertNoTrace(t, host, p, dataDir, "clash", 0)
	})

	t.Run("pod ifname clash", func(t *testing.T) {
		dataDir := t.TempDir()
		host := newNS(t)
		conf := testConf{Version: "1.1.0", Name: "podclash", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.75.0.0/24"}}.bytes(t)
		p := newPod(t, "ctr-podclash", conf)
		if err := handle(t, p.ns).LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth0peer"}); err != nil {
			t.Fatal(err)
		}
		if err := p.add(t, host); !errors.Is(err, podnet.ErrLinkExists) {
			t.Fatalf("want ErrLinkExists, got %v", err)
		}
		if links, _ := handle(t, host).LinkList(); len(links) != 1 { // lo only
			t.Errorf("host links left: %d", len(links))
		}
		if files := ipamFiles(t, dataDir, "podclash"); len(files) != 0 {
			t.Errorf("IPAM records left: %v", files)
		}
	})

	t.Run("failure after veth and IPAM", func(t *testing.T) {
		// An IPAM route via an unreachable gateway makes the pod route
		// fail after the veth exists and the address is allocated.
		dataDir := t.TempDir()
		host := newNS(t)
		conf := testConf{Version: "1.1.0", Name: "late", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.76.0.0/24"},
			IPAM: map[string]any{"routes": []map[string]string{{"dst": "10.50.0.0/16", "gw": "10.99.0.1"}}}}.bytes(t)
		p := newPod(t, "ctr-late", conf)
		if err := p.add(t, host); err == nil {
			t.Fatal("ADD succeeded with an unreachable route gateway")
		} else {
			t.Logf("error: %v", err)
		}
		assertNoTrace(t, host, p, dataDir, "late", 0)
	})

	t.Run("bad config", func(t *testing.T) {
		dataDir := t.TempDir()
		host := newNS(t)
		for field, conf := range map[string][]byte{
			"mtu":         testConf{Version: "1.1.0", Name: "bad", MTU: -3, DataDir: dataDir, Subnets: []string{"10.77.0.0/24"}}.bytes(t),
			"ipam.subnet": testConf{Version: "1.1.0", Name: "bad", MTU: 1400, DataDir: dataDir, IPAM: map[string]any{"subnet": "10.77.0.0/33"}}.bytes(t),
			"stateDir":    testConf{Version: "1.1.0", Name: "bad", MTU: 1400, DataDir: dataDir, StateDir: "relative/dir", Subnets: []string{"10.77.0.0/24"}}.bytes(t),
		} {
			p := newPod(t, "ctr-bad", conf)
			err := p.add(t, host)
			var ce *types.Error
			if !errors.As(err, &ce) || ce.Code != types.ErrInvalidNetworkConfig {
				t.Errorf("%s: want code 7, got %v", field, err)
				continue
			}
			t.Logf("%s: %s", field, ce.Msg)
			assertNoTrace(t, host, p, dataDir, "bad", 0)
		}
	})
}

// assertNoTrace: no host veth or pod interface of p, no route, wantIPAM
// records in the store, forwarding sysctls untouched (a fresh netns has 0).
func assertNoTrace(t *testing.T, host ns.NetNS, p *pod, dataDir, network string, wantIPAM int) {
	t.Helper()
	if linkExists(t, p.ns, "eth0") && p.args.ContainerID != "ctr-podclash" {
		t.Errorf("pod eth0 left")
	}
	links, err := handle(t, host).LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Attrs().Alias != "" {
			t.Errorf("host link %s (alias %q) left", l.Attrs().Name, l.Attrs().Alias)
		}
	}
	for _, d := range routeDsts(t, host) {
		t.Errorf("host route %s left", d)
	}
	if files := ipamFiles(t, dataDir, network); len(files) != wantIPAM {
		t.Errorf("IPAM records: %v, want %d", files, wantIPAM)
	}
	if v4, v6 := sysctl(t, host, ipv4Forward), sysctl(t, host, ipv6Forward); v4 != "0" || v6 != "0" {
		t.Errorf("forwarding sysctls changed: ipv4 %s ipv6 %s", v4, v6)
	}
}
