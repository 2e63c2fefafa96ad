// Package converge benchmarks package peers on the real kernel: converging
// 1000 synthetic dual-stack peers (half VXLAN, half native) in a throwaway
// network namespace, then single-peer changes, a restart and a resync. It
// prints figures and asserts nothing.
package converge

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

const nPeers = 1000

// synthetic returns peer i (1-based): pod CIDRs 10.64.0.0/10-ish and
// fd00:244:<i>::/64, node IPs 172.20.x.y and fd00:20::<i>.
func synthetic(i int, mode decision.Mode) peers.Peer {
	ip4 := netip.AddrFrom4([4]byte{172, 20, byte(i / 250), byte(i%250 + 1)})
	ip6 := netip.MustParseAddr(fmt.Sprintf("fd00:20::%x", i))
	return peers.Peer{
		Name: fmt.Sprintf("node-%04d", i),
		Mode: mode,
		PodCIDRs: []netip.Prefix{
			netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i & 255), 0}), 24),
			netip.MustParsePrefix(fmt.Sprintf("fd00:244:%x::/64", i)),
		},
		Endpoints: []peers.Endpoint{
			{NodeIP: ip4, VTEPMAC: overlay.VTEPMAC(ip4)},
			{NodeIP: ip6, VTEPMAC: overlay.VTEPMAC(ip6)},
		},
	}
}

func modeOf(i int) decision.Mode {
	if i%2 == 0 {
		return decision.ModeVXLAN
	}
	return decision.ModeNative
}

// memKiB reads VmRSS and VmHWM of this process.
func memKiB() (rss, hwm string) {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss = f[1] + " kB"
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm = f[1] + " kB"
		}
	}
	return
}

func BenchmarkConverge1000Peers(b *testing.B) {
	l := dplab.New(b, dplab.Options{Nodes: 1})
	n := l.Nodes[0]
	links, err := n.EnsureOverlay(1)
	if err != nil {
		b.Fatal(err)
	}
	h, err := n.Handle()
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	all := make([]peers.Peer, 0, nPeers)
	for i := 1; i <= nPeers; i++ {
		all = append(all, synthetic(i, modeOf(i)))
	}
	runtime.GC()
	rss0, _ := memKiB()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	out := func(step string, r peers.Report, d time.Duration) {
		fmt.Printf("converge %-34s wall %9s  netlink %9s  writes %5d  reads %3d\n",
			step, d.Round(time.Microsecond), r.NetlinkTime.Round(time.Microsecond), r.Writes, r.Reads)
	}
	run := func(step string, f func() (peers.Report, error)) peers.Report {
		t0 := time.Now()
		r, err := f()
		d := time.Since(t0)
		if err != nil {
			b.Fatalf("%s: %v", step, err)
		}
		out(step, r, d)
		return r
	}
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		c := peers.New(h, links)
		first := run("Apply 1000 peers (empty kernel)", func() (peers.Report, error) { return c.Apply(all) })
		b.ReportMetric(float64(first.NetlinkTime.Milliseconds()), "netlink-ms/1000peers")
		b.ReportMetric(float64(first.Writes), "writes/1000peers")
		run("Apply again (no change)", func() (peers.Report, error) { return c.Apply(all) })

		p := synthetic(2, decision.ModeNative) // vxlan -> native
		one := run("ApplyPeer: 1 peer vxlan->native", func() (peers.Report, error) { return c.ApplyPeer(p) })
		b.ReportMetric(float64(one.Writes), "writes/peer-change")
		run("ApplyPeer: same peer, no change", func() (peers.Report, error) { return c.ApplyPeer(p) })
		run("Apply 1000 with 1 peer back to vxlan", func() (peers.Report, error) { return c.Apply(all) })
		run("RemovePeer (vxlan, dual-stack)", func() (peers.Report, error) { return c.RemovePeer(all[1].Name) })
		run("ApplyPeer (add it back)", func() (peers.Report, error) { return c.ApplyPeer(all[1]) })
		run("Resync (no drift)", c.Resync)

		restarted := peers.New(h, links)
		run("restart: new converger, Apply", func() (peers.Report, error) { return restarted.Apply(all) })

		runtime.GC()
		rss, hwm := memKiB()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("converge memory: VmRSS before %s, after %s (VmHWM %s; whole test binary); Go heap in use +%d KiB for 2 convergers x 1000 peers\n",
			rss0, rss, hwm, (int64(ms.HeapInuse)-int64(ms0.HeapInuse))>>10)
		runtime.KeepAlive(c)
		runtime.KeepAlive(restarted)
		if it+1 < b.N {
			_ = peers.Cleanup(h)
		}
	}
}
