package main

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/pkg/podnet"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

func TestDelNetnsGoneReleasesIPAM(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir := newNS(t), t.TempDir()
	conf := testConf{Version: "1.0.0", Name: "delgone", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.78.0.0/24"}}.bytes(t)
	p := newPod(t, "ctr-delgone", conf)
	if err := p.add(t, host); err != nil {
		t.Fatal(err)
	}
	// The runtime tore the sandbox down first: the veth pair died with it.
	p.ns.Close()
	if err := testutils.UnmountNS(p.ns); err != nil {
		t.Fatal(err)
	}
	if err := p.del(host); err != nil {
		t.Fatalf("DEL with netns gone: %v", err)
	}
	p.args.Netns = ""
	if err := p.del(host); err != nil {
		t.Fatalf("DEL without netns: %v", err)
	}
	assertClean(t, host, dataDir, "delgone")
}

func TestCheckDetectsDrift(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir := newNS(t), t.TempDir()
	conf := testConf{Version: "1.1.0", Name: "drift", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.79.0.0/24", "fd79::/64"}}.bytes(t)
	tests := []struct {
		name   string
		break_ func(t *testing.T, p *pod)
		want   string
	}{
		{"pod mtu", func(t *testing.T, p *pod) {
			h := handle(t, p.ns)
			l, _ := h.LinkByName("eth0")
			if err := h.LinkSetMTU(l, 1300); err != nil {
				t.Fatal(err)
			}
		}, "mtu 1300, want 1400"},
		{"host route", func(t *testing.T, p *pod) {
			h := handle(t, host)
			l, _ := h.LinkByName(p.hostVeth())
			routes, _ := h.RouteList(l, netlink.FAMILY_V4)
			for _, r := range routes {
				if err := h.RouteDel(&r); err != nil {
					t.Fatal(err)
				}
			}
		}, "host route 10.79.0."},
		{"pod address", func(t *testing.T, p *pod) {
			h := handle(t, p.ns)
			l, _ := h.LinkByName("eth0")
			addr := &netlink.Addr{IPNet: &p.result.IPs[1].Address}
			if err := h.AddrDel(l, addr); err != nil {
				t.Fatal(err)
			}
		}, "address fd79::"},
		{"pod default route", func(t *testing.T, p *pod) {
			h := handle(t, p.ns)
			l, _ := h.LinkByName("eth0")
			if err := h.RouteDel(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: &p.result.Routes[1].Dst, Gw: p.result.Routes[1].GW}); err != nil {
				t.Fatal(err)
			}
		}, "route 0.0.0.0/0 via"},
		{"pod interface gone", func(t *testing.T, p *pod) {
			h := handle(t, host)
			l, _ := h.LinkByName(p.hostVeth())
			if err := h.LinkDel(l); err != nil {
				t.Fatal(err)
			}
		}, "pod interface eth0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod(t, "ctr-drift-"+strings.ReplaceAll(tc.name, " ", "-"), conf)
			if err := p.add(t, host); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.del(host) })
			if err := p.check(t, host); err != nil {
				t.Fatalf("CHECK before drift: %v", err)
			}
			tc.break_(t, p)
			err := p.check(t, host)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CHECK after drift: %v, want %q", err, tc.want)
			}
			t.Logf("CHECK: %v", err)
		})
	}
}

func TestBigTCPFromState(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir, stateDir := newNS(t), t.TempDir(), t.TempDir()
	writeState(t, stateDir, &state.NodeState{Ready: true, MTU: 1450, PodCIDRs: []string{"10.80.0.0/24", "fd80::/64"},
		GSOMaxSize: 185000, GROMaxSize: 185000})
	// No mtu, no ranges: both come from the state file.
	conf := testConf{Version: "1.1.0", Name: "bigtcp", DataDir: dataDir, StateDir: stateDir}.bytes(t)
	p := newPod(t, "ctr-bigtcp", conf)
	if err := p.add(t, host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.del(host) })
	if len(p.result.IPs) != 2 || !strings.HasPrefix(p.result.IPs[0].Address.IP.String(), "10.80.0.") {
		t.Fatalf("ranges not taken from state: %v", p.result.IPs)
	}
	podLink, _ := handle(t, p.ns).LinkByName("eth0")
	hostLink, _ := handle(t, host).LinkByName(p.hostVeth())
	for _, l := range []netlink.Link{podLink, hostLink} {
		a := l.Attrs()
		if a.MTU != 1450 || a.GSOMaxSize != 185000 || a.GROMaxSize != 185000 || a.GSOIPv4MaxSize != 185000 || a.GROIPv4MaxSize != 185000 {
			t.Errorf("%s: mtu %d gso %d gro %d gso4 %d gro4 %d", a.Name, a.MTU, a.GSOMaxSize, a.GROMaxSize, a.GSOIPv4MaxSize, a.GROIPv4MaxSize)
		}
	}
	if err := p.check(t, host); err != nil {
		t.Errorf("CHECK: %v", err)
	}
}

func TestUplinkMTUFallback(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir := newNS(t), t.TempDir()
	// An "uplink" with a default route through it.
	h := handle(t, host)
	up := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink0", MTU: 1380, Flags: 1}, PeerName: "uplink0p"}
	if err := h.LinkAdd(up); err != nil {
		t.Fatal(err)
	}
	l, _ := h.LinkByName("uplink0")
	_ = h.LinkSetUp(l)
	if err := h.AddrAdd(l, mustAddr(t, "192.0.2.2/24")); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: mustAddr(t, "192.0.2.1/32").IP}); err != nil {
		t.Fatal(err)
	}
	// A ready agent that leaves the MTU to the plugin (mtu 0 in its state).
	stateDir := t.TempDir()
	writeState(t, stateDir, &state.NodeState{Ready: true})
	conf := testConf{Version: "1.1.0", Name: "uplink", DataDir: dataDir, StateDir: stateDir, Subnets: []string{"10.81.0.0/24"}}.bytes(t)
	p := newPod(t, "ctr-uplink", conf)
	if err := p.add(t, host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.del(host) })
	if mtu := p.result.Interfaces[1].Mtu; mtu != 1380 {
		t.Errorf("pod mtu %d, want the uplink's 1380", mtu)
	}
}

func mustAddr(t *testing.T, s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writeState(t *testing.T, dir string, s *state.NodeState) {
	t.Helper()
	s.UpdatedAt = time.Now()
	if err := state.Write(dir, s); err != nil {
		t.Fatal(err)
	}
}

func runStatus(t *testing.T, conf []byte) error {
	args := &skel.CmdArgs{StdinData: conf}
	return testutils.CmdStatus(func() error { return cmdStatus(args) })
}

func TestStatus(t *testing.T) {
	refCNIDir(t)
	ready := &state.NodeState{Ready: true, MTU: 1450, PodCIDRs: []string{"10.82.0.0/24"}}
	notReady := &state.NodeState{Ready: false, Reason: "no uplink found"}
	explicit := func(stateDir string) []byte {
		return testConf{Version: "1.1.0", Name: "st", MTU: 1400, DataDir: t.TempDir(), StateDir: stateDir, Subnets: []string{"10.82.0.0/24"}}.bytes(t)
	}
	fromState := func(stateDir string) []byte {
		return testConf{Version: "1.1.0", Name: "st", DataDir: t.TempDir(), StateDir: stateDir}.bytes(t)
	}
	tests := []struct {
		name     string
		state    *state.NodeState
		garbage  bool
		conf     func(dir string) []byte
		wantCode uint
		wantMsg  string
	}{
		{name: "ready", state: ready, conf: fromState},
		{name: "missing", conf: fromState, wantCode: types.ErrPluginNotAvailable, wantMsg: "not written"},
		{name: "not ready", state: notReady, conf: fromState, wantCode: types.ErrPluginNotAvailable, wantMsg: "not ready"},
		{name: "unreadable", garbage: true, conf: fromState, wantCode: types.ErrPluginNotAvailable, wantMsg: "unreadable"},
		{name: "explicit config, stateDir named, missing", conf: explicit, wantCode: types.ErrPluginNotAvailable},
		{name: "explicit config, ready", state: ready, conf: explicit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.state != nil {
				writeState(t, dir, tc.state)
			}
			if tc.garbage {
				if err := os.WriteFile(state.Path(dir), []byte("{not json"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := runStatus(t, tc.conf(dir))
			if tc.wantCode == 0 {
				if err != nil {
					t.Fatalf("STATUS: %v", err)
				}
				return
			}
			var ce *types.Error
			if !errors.As(err, &ce) || ce.Code != tc.wantCode || !strings.Contains(ce.Msg+ce.Details, tc.wantMsg) {
				t.Fatalf("STATUS: %#v, want code %d with %q", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
	t.Run("standalone: explicit mtu and ranges, default stateDir", func(t *testing.T) {
		c := testConf{Version: "1.1.0", Name: "st", MTU: 1400, DataDir: t.TempDir(), Subnets: []string{"10.82.0.0/24"}}.bytes(t)
		if _, err := os.Stat(state.Path(state.DefaultDir)); err == nil {
			t.Skip("this machine runs an agent: the default state file exists")
		}
		if err := runStatus(t, c); err != nil {
			t.Fatalf("STATUS: %v", err)
		}
	})
}

func TestGC(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir := newNS(t), t.TempDir()
	conf := testConf{Version: "1.1.0", Name: "gcnet", MTU: 1400, DataDir: dataDir, Subnets: []string{"10.83.0.0/24", "fd83::/64"}}
	keep, drop := newPod(t, "ctr-keep", conf.bytes(t)), newPod(t, "ctr-drop", conf.bytes(t))
	for _, p := range []*pod{keep, drop} {
		if err := p.add(t, host); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = keep.del(host) })
	// An IPAM record whose veth is already gone (e.g. a crash mid-ADD).
	orphan := newPod(t, "ctr-orphan", conf.bytes(t))
	if err := orphan.add(t, host); err != nil {
		t.Fatal(err)
	}
	if err := podnet.DeleteHostVeth(handle(t, host), orphan.hostVeth()); err != nil {
		t.Fatal(err)
	}
	// Another network's pod and a foreign veth: GC must not touch them.
	otherDataDir := t.TempDir()
	other := newPod(t, "ctr-other", testConf{Version: "1.1.0", Name: "othernet", MTU: 1400, DataDir: otherDataDir, Subnets: []string{"10.84.0.0/24"}}.bytes(t))
	if err := other.add(t, host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.del(host) })
	if err := handle(t, host).LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "oo-foreign"}, PeerName: "foreignpeer"}); err != nil {
		t.Fatal(err)
	}

	conf.Extra = map[string]any{"cni.dev/valid-attachments": []map[string]string{{"containerID": "ctr-keep", "ifname": "eth0"}}}
	gcArgs := &skel.CmdArgs{StdinData: conf.bytes(t)}
	err := host.Do(func(ns.NetNS) error {
		t.Setenv("CNI_COMMAND", "GC")
		t.Setenv("CNI_PATH", os.Getenv("PATH"))
		return cmdGC(gcArgs)
	})
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	if linkExists(t, host, drop.hostVeth()) {
		t.Error("stale host veth survived GC")
	}
	for _, name := range []string{keep.hostVeth(), other.hostVeth(), "oo-foreign", "foreignpeer"} {
		if !linkExists(t, host, name) {
			t.Errorf("GC removed %s", name)
		}
	}
	if files := ipamFiles(t, dataDir, "gcnet"); len(files) != 2 {
		t.Errorf("IPAM records after GC: %v, want the 2 of ctr-keep", files)
	}
	if files := ipamFiles(t, otherDataDir, "othernet"); len(files) != 1 {
		t.Errorf("other network's IPAM records: %v", files)
	}
	routes := strings.Join(routeDsts(t, host), " ")
	for _, ip := range drop.podIPs() {
		if strings.Contains(routes, ip.String()+"/") {
			t.Errorf("stale route to %s survived GC", ip)
		}
	}
	for _, ip := range keep.podIPs() {
		if !strings.Contains(routes, ip.String()+"/") {
			t.Errorf("GC removed the route to valid %s", ip)
		}
	}
	if err := keep.check(t, host); err != nil {
		t.Errorf("CHECK of the valid attachment after GC: %v", err)
	}
}

var statePodCIDRs = state.NodeState{Ready: true, MTU: 1400, PodCIDRs: []string{"10.85.0.0/24"}}

// TestDelAfterStateGone: ranges came from the node state at ADD; the state
// file is gone at DEL (agent uninstalled first): the address is released.
func TestDelAfterStateGone(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir, stateDir := newNS(t), t.TempDir(), t.TempDir()
	writeState(t, stateDir, &state.NodeState{Ready: true, MTU: 1400, PodCIDRs: []string{"10.86.0.0/24", "fd86::/64"}})
	conf := testConf{Version: "1.1.0", Name: "nostate", DataDir: dataDir, StateDir: stateDir}.bytes(t)
	p := newPod(t, "ctr-nostate", conf)
	if err := p.add(t, host); err != nil {
		t.Fatal(err)
	}
	if err := state.Remove(stateDir); err != nil {
		t.Fatal(err)
	}
	if err := p.del(host); err != nil {
		t.Fatalf("DEL without state: %v", err)
	}
	assertClean(t, host, dataDir, "nostate")
}

func TestVersions(t *testing.T) {
	got := strings.Join(supportedVersions.SupportedVersions(), ",")
	if got != strings.Join(allVersions, ",") {
		t.Errorf("supported versions %s", got)
	}
}
