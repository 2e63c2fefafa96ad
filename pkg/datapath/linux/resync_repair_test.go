package linux_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// TestResyncRepairsVTEPAddress: someone deletes node A's VTEP address from
// oo-vxlan4 (the kernel then flushes the device's routes and neighbours)
// and its probe address from lo. The next resync, with no agent restart,
// puts the addresses back first and then the peer routes and neighbours,
// and node A reaches pod B again; so does a deleted tunnel device. A resync
// with everything in place writes no address, route or neighbour (ip
// monitor stays silent).
func TestResyncRepairsVTEPAddress(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1, Prefix: "oo-rr-"})
	nodes := convergeVXLAN(t, l)
	a, b := nodes[0], nodes[1]
	nodeA := &dplab.Pod{Node: a.Node, Name: a.Name, NS: a.NS}
	podB := b.Pods[0]
	if err := a.kernel.ResyncPaths(a.paths); err != nil {
		t.Fatalf("first resync: %v", err)
	}
	vtep := peers.VTEPAddr(a.PodCIDR4).String() + "/32"
	probe := a.PodCIDR4.Masked().Addr().Next().String() + "/32"
	// Equivalent to: ip -n A -4 route show dev oo-vxlan4; ip -n A neigh show dev oo-vxlan4
	datapath := func() string {
		return output("ip", "-n", a.Name, "-4", "route", "show", "dev", "oo-vxlan4") +
			output("ip", "-n", a.Name, "-4", "neigh", "show", "dev", "oo-vxlan4")
	}
	before := datapath()
	if !strings.Contains(before, b.PodCIDR4.String()) {
		t.Fatalf("no route to node B's pod CIDR on oo-vxlan4:\n%s", before)
	}
	if err := nodeA.Ping(podB.IP4); err != nil {
		t.Fatalf("before: node A -> pod B: %v", err)
	}

	run(t, "ip", "-n", a.Name, "addr", "del", vtep, "dev", "oo-vxlan4")
	run(t, "ip", "-n", a.Name, "addr", "del", probe, "dev", "lo")
	if got := datapath(); strings.Contains(got, b.PodCIDR4.String()) {
		t.Logf("this kernel kept the routes on oo-vxlan4 without an address:\n%s", got)
	}

	if err := a.kernel.ResyncPaths(a.paths); err != nil {
		t.Fatalf("resync: %v", err)
	}
	if got := vxlanAddrs(t, a.Name); !strings.Contains(got, "oo-vxlan4 "+vtep) {
		t.Errorf("VTEP address after resync: %q, want oo-vxlan4 %s", got, vtep)
	}
	if lo := run(t, "ip", "-n", a.Name, "-4", "addr", "show", "dev", "lo"); !strings.Contains(lo, probe) {
		t.Errorf("probe address %s not back on lo:\n%s", probe, lo)
	}
	if got := datapath(); got != before {
		t.Errorf("routes and neighbours after resync:\n%s\nwant:\n%s", got, before)
	}
	if err := nodeA.Ping(podB.IP4); err != nil {
		t.Errorf("after resync: node A -> pod B: %v", err)
	}

	t.Run("a deleted tunnel device is recreated and its peers re-programmed", func(t *testing.T) {
		run(t, "ip", "-n", a.Name, "link", "del", "oo-vxlan4")
		if err := a.kernel.ResyncPaths(a.paths); err != nil {
			t.Fatalf("resync: %v", err)
		}
		if got := vxlanAddrs(t, a.Name); !strings.Contains(got, "oo-vxlan4 "+vtep) {
			t.Errorf("VTEP address after resync: %q, want oo-vxlan4 %s", got, vtep)
		}
		if got := datapath(); got != before {
			t.Errorf("routes and neighbours after resync:\n%s\nwant:\n%s", got, before)
		}
		if fdb := output("bridge", "-n", a.Name, "fdb", "show", "dev", "oo-vxlan4"); !strings.Contains(fdb, "dst "+b.IP4.String()) {
			t.Errorf("no FDB entry towards node B after resync:\n%s", fdb)
		}
		if err := nodeA.Ping(podB.IP4); err != nil {
			t.Errorf("after resync: node A -> pod B: %v", err)
		}
	})

	t.Run("a resync with everything in place writes nothing", func(t *testing.T) {
		mon := exec.Command("ip", "-n", a.Name, "monitor", "address", "route", "neigh")
		monOut := &syncBuffer{}
		mon.Stdout, mon.Stderr = monOut, monOut
		if err := mon.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if err := a.kernel.ResyncPaths(a.paths); err != nil {
			t.Errorf("resync: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		_ = mon.Process.Kill()
		_ = mon.Wait()
		for _, line := range strings.Split(monOut.String(), "\n") {
			// Neighbour state changes of the kernel's own (pings, IPv6
			// discovery) are not a resync's doing; ours are permanent. Nor
			// is a link-local address finishing DAD on the lab's eth0
			// (the agent adds no fe80:: address).
			if strings.Contains(line, " fe80::") && !strings.Contains(line, "oo-vxlan") {
				continue
			}
			if strings.TrimSpace(line) != "" && (strings.Contains(line, "inet") || strings.Contains(line, "oo-vxlan") || strings.Contains(line, "PERMANENT")) {
				t.Errorf("resync changed: %s", line)
			}
		}
	})
}
