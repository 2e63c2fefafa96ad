package perf

import (
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// RcvBuf is the receive buffer every namespace that terminates a measured TCP
// stream gets (min, default, max bytes).
const RcvBuf = "4096 16777216 33554432"

// TuneEndpoint sets the large TCP receive buffer in a namespace (pod or node).
// Equivalent to: `ip netns exec $ns sysctl -w net.ipv4.tcp_rmem="4096 16777216 33554432"`.
func TuneEndpoint(netnsName string) error {
	n, err := ns.GetNS("/var/run/netns/" + netnsName)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", netnsName, err)
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error {
		if err := os.WriteFile("/proc/sys/net/ipv4/tcp_rmem", []byte(RcvBuf), 0o644); err != nil {
			return fmt.Errorf("tcp_rmem in %s: %w", netnsName, err)
		}
		return nil
	})
}

// Counters are one device's byte and packet counters.
type Counters struct {
	TxBytes, TxPackets, RxBytes, RxPackets uint64
}

// ReadCounters reads a device's counters inside a namespace.
// Equivalent to: `ip -n $ns -s link show $dev`.
func ReadCounters(netnsName, dev string) (Counters, error) {
	h, err := netns.GetFromName(netnsName)
	if err != nil {
		return Counters{}, fmt.Errorf("opening netns %s: %w", netnsName, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return Counters{}, fmt.Errorf("netlink in %s: %w", netnsName, err)
	}
	defer nh.Close()
	l, err := nh.LinkByName(dev)
	if err != nil {
		return Counters{}, fmt.Errorf("finding %s in %s: %w", dev, netnsName, err)
	}
	s := l.Attrs().Statistics
	if s == nil {
		return Counters{}, fmt.Errorf("%s in %s: no statistics", dev, netnsName)
	}
	return Counters{TxBytes: s.TxBytes, TxPackets: s.TxPackets, RxBytes: s.RxBytes, RxPackets: s.RxPackets}, nil
}

// Sub returns c - before.
func (c Counters) Sub(before Counters) Counters {
	return Counters{c.TxBytes - before.TxBytes, c.TxPackets - before.TxPackets, c.RxBytes - before.RxBytes, c.RxPackets - before.RxPackets}
}

// TxBytesPerPacket is the average size of what the device sent.
func (c Counters) TxBytesPerPacket() float64 {
	if c.TxPackets == 0 {
		return 0
	}
	return float64(c.TxBytes) / float64(c.TxPackets)
}

// Probe names one device whose transmit counters a measurement samples.
type Probe struct {
	Netns, Dev string
	// Label is what tables print, e.g. "n1 eth0".
	Label string
}

// Snapshot reads the counters of every probe.
func Snapshot(probes []Probe) ([]Counters, error) {
	out := make([]Counters, len(probes))
	for i, p := range probes {
		c, err := ReadCounters(p.Netns, p.Dev)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// PacketSizes returns, per probe, the average transmitted packet size between
// two snapshots.
func PacketSizes(probes []Probe, before, after []Counters) map[string]float64 {
	m := map[string]float64{}
	for i, p := range probes {
		m[p.Label] = after[i].Sub(before[i]).TxBytesPerPacket()
	}
	return m
}

// FormatSize prints a packet size the way tables show it ("44 KB", "1511 B").
func FormatSize(b float64) string {
	if b >= 10000 {
		return fmt.Sprintf("%.0f KB", b/1000)
	}
	return strings.TrimSpace(fmt.Sprintf("%.0f B", b))
}
