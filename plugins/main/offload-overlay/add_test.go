package main

import (
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

const (
	ipv4Forward = "/proc/sys/net/ipv4/ip_forward"
	ipv6Forward = "/proc/sys/net/ipv6/conf/all/forwarding"
)

// TestAddCheckDel runs the whole lifecycle for every spec version and
// address family: ADD, read back, ping host<->pod and pod<->pod, CHECK, DEL,
// DEL again, nothing left.
func TestAddCheckDel(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	for _, ver := range allVersions {
		for fam, subnets := range families {
			t.Run(ver+"/"+fam, func(t *testing.T) {
				testLifecycle(t, ver, subnets)
			})
		}
	}
}

func testLifecycle(t *testing.T, ver string, subnets []string) {
	host := newNS(t)
	dataDir := t.TempDir()
	conf := testConf{Version: ver, Name: "lifecycle", MTU: 1400, DataDir: dataDir, Subnets: subnets,
		StateDir: t.TempDir()}.bytes(t)
	p1, p2 := newPod(t, "ctr-a-"+ver, conf), newPod(t, "ctr-b-"+ver, conf)
	for _, p := range []*pod{p1, p2} {
		if err := p.add(t, host); err != nil {
			t.Fatalf("ADD %s: %v", p.args.ContainerID, err)
		}
	}
	checkResult(t, p1, len(subnets))
	checkKernel(t, host, p1, 1400)

	// host <-> pod, pod <-> pod
	for _, ip := range p1.podIPs() {
		if err := ping(host, ip.String()); err != nil {
			t.Errorf("host -> pod: %v", err)
		}
	}
	for i, ip := range p2.podIPs() {
		if err := ping(p1.ns, ip.String()); err != nil {
			t.Errorf("pod -> pod: %v", err)
		}
		gw := p1.result.IPs[i].Gateway.String()
		if gw == podnet.GatewayV6.String() {
			gw += "%eth0"
		}
		if err := ping(p1.ns, gw); err != nil {
			t.Errorf("pod -> host gateway: %v", err)
		}
	}
	if v4, v6 := familiesOf(subnets); (v4 && sysctl(t, host, ipv4Forward) != "1") || (v6 && sysctl(t, host, ipv6Forward) != "1") {
		t.Errorf("forwarding not enabled")
	}

	if testutils.SpecVersionHasCHECK(ver) {
		if err := p1.check(t, host); err != nil {
			t.Errorf("CHECK: %v", err)
		}
	}
	for _, p := range []*pod{p1, p2} {
		if err := p.del(host); err != nil {
			t.Fatalf("DEL: %v", err)
		}
		if err := p.del(host); err != nil {
			t.Fatalf("second DEL: %v", err)
		}
	}
	assertClean(t, host, dataDir, "lifecycle")
	if linkExists(t, p1.ns, "eth0") {
		t.Errorf("pod eth0 left after DEL")
	}
}

func familiesOf(subnets []string) (v4, v6 bool) {
	for _, s := range subnets {
		if strings.Contains(s, ":") {
			v6 = true
		} else {
			v4 = true
		}
	}
	return v4, v6
}

// checkResult: two interfaces, the pod's with sandbox, each IP on it.
func checkResult(t *testing.T, p *pod, nIPs int) {
	t.Helper()
	r := p.result
	if len(r.Interfaces) != 2 || r.Interfaces[1].Name != "eth0" || r.Interfaces[1].Sandbox != p.ns.Path() ||
		r.Interfaces[0].Name != p.hostVeth() || r.Interfaces[0].Sandbox != "" {
		t.Errorf("interfaces: %v", r.Interfaces)
	}
	if len(r.IPs) != nIPs {
		t.Fatalf("ips: %v", r.IPs)
	}
	for _, ipc := range r.IPs {
		if ipc.Interface == nil || *ipc.Interface != 1 {
			t.Errorf("ip %s: interface index %v, want 1", ipc.Address.String(), ipc.Interface)
		}
		ones, bits := ipc.Address.Mask.Size()
		if ones != bits || ipc.Gateway == nil {
			t.Errorf("ip %s gw %v: want host prefix and gateway", ipc.Address.String(), ipc.Gateway)
		}
	}
	if len(r.Routes) < nIPs {
		t.Errorf("routes: %v", r.Routes)
	}
}

// checkKernel reads both ends back with netlink.
func checkKernel(t *testing.T, host ns.NetNS, p *pod, mtu int) {
	t.Helper()
	ph, hh := handle(t, p.ns), handle(t, host)
	podLink, err := ph.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	hostLink, err := hh.LinkByName(p.hostVeth())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{podLink, hostLink} {
		a := l.Attrs()
		if l.Type() != "veth" || a.MTU != mtu || a.Flags&net.FlagUp == 0 {
			t.Errorf("%s: type %s mtu %d flags %v", a.Name, l.Type(), a.MTU, a.Flags)
		}
	}
	addrs, err := ph.AddrList(podLink, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range p.podIPs() {
		found := false
		for _, a := range addrs {
			ones, bits := a.Mask.Size()
			found = found || (a.IP.Equal(ip) && ones == bits)
		}
		if !found {
			t.Errorf("pod address %s/host-prefix missing: %v", ip, addrs)
		}
	}
	hostRoutes := strings.Join(routeDsts(t, host), " ")
	for _, ip := range p.podIPs() {
		if !strings.Contains(hostRoutes, ip.String()+"/") {
			t.Errorf("host route to %s missing: %s", ip, hostRoutes)
		}
	}
	podRoutes, err := ph.RouteList(podLink, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	defaults := 0
	for _, r := range podRoutes {
		if r.Gw != nil && (r.Dst == nil || r.Dst.IP.IsUnspecified()) {
			defaults++
		}
	}
	if defaults != len(p.podIPs()) {
		t.Errorf("pod default routes: %d, want %d: %v", defaults, len(p.podIPs()), podRoutes)
	}
}

// assertClean: no veth of ours, no route through one, no IPAM record.
func assertClean(t *testing.T, host ns.NetNS, dataDir, network string) {
	t.Helper()
	links, err := handle(t, host).LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, podnet.HostVethPrefix) {
			t.Errorf("host veth %s left", l.Attrs().Name)
		}
	}
	for _, d := range routeDsts(t, host) {
		if !strings.HasPrefix(d, "fe80::") {
			t.Errorf("host route %s left", d)
		}
	}
	if files := ipamFiles(t, dataDir, network); len(files) > 0 {
		t.Errorf("IPAM records left: %v", files)
	}
}
