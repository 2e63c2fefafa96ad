package bgp

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports each session's state at scrape time, read from the
// speaker (never a copy that could go stale):
//
//	offload_overlay_bgp_session_established{peer,peer_as} 1 or 0
//	offload_overlay_bgp_session_uptime_seconds{peer,peer_as}
//	offload_overlay_bgp_prefixes_sent{peer,peer_as}
//	offload_overlay_bgp_prefixes_received{peer,peer_as}
//	offload_overlay_bgp_announced_prefixes  (this node's pod CIDRs handed to the speaker)
type Collector struct {
	speaker                             func() *Speaker
	established, uptime, sent, received *prometheus.Desc
	announced                           *prometheus.Desc
}

// NewCollector describes the metrics of the speaker speaker returns (nil:
// BGP off, only the announced count, 0); register it on the agent's registry.
func NewCollector(speaker func() *Speaker) *Collector {
	const ns = "offload_overlay_bgp"
	labels := []string{"peer", "peer_as"}
	return &Collector{
		speaker:     speaker,
		established: prometheus.NewDesc(ns+"_session_established", "1 when the BGP session with the peer is Established.", labels, nil),
		uptime:      prometheus.NewDesc(ns+"_session_uptime_seconds", "Seconds since the BGP session was established (0 when down).", labels, nil),
		sent:        prometheus.NewDesc(ns+"_prefixes_sent", "Pod CIDRs announced to the peer.", labels, nil),
		received:    prometheus.NewDesc(ns+"_prefixes_received", "Routes received from the peer, before the import filter.", labels, nil),
		announced:   prometheus.NewDesc(ns+"_announced_prefixes", "This node's pod CIDRs the speaker announces.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.established, c.uptime, c.sent, c.received, c.announced} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	sp := c.speaker()
	if sp == nil {
		ch <- prometheus.MustNewConstMetric(c.announced, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.announced, prometheus.GaugeValue, float64(len(sp.Announced())))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sessions, err := sp.Sessions(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	for _, s := range sessions {
		lv := []string{s.Peer.String(), strconv.FormatUint(uint64(s.PeerAS), 10)}
		up := 0.0
		if s.Established() {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.established, prometheus.GaugeValue, up, lv...)
		ch <- prometheus.MustNewConstMetric(c.uptime, prometheus.GaugeValue, s.Uptime(now).Seconds(), lv...)
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.GaugeValue, float64(s.PrefixesSent), lv...)
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.GaugeValue, float64(s.PrefixesReceived), lv...)
	}
}
