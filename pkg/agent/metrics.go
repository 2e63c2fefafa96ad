package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the agent's Prometheus series, registered on a registry the
// caller owns (no global registry: tests run several agents in one process).
type Metrics struct {
	Peers          *prometheus.GaugeVec
	Unreachable    prometheus.Gauge
	Ignored        prometheus.Gauge
	Ready          prometheus.Gauge
	PodMTU         prometheus.Gauge
	ConvergeTime   *prometheus.HistogramVec
	Errors         *prometheus.CounterVec
	Probes         *prometheus.CounterVec
	PathsProgramed prometheus.Counter
	FailedPaths    prometheus.Gauge
}

// NewMetrics creates and registers the agent's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns = "offload_overlay"
	m := &Metrics{
		Peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "peer_paths",
			Help: "Peer paths (one per peer and address family) by datapath mode."}, []string{"mode"}),
		Unreachable: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "unreachable_peers",
			Help: "Peers with no datapath (nested encapsulation refused)."}),
		Ignored: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "ignored_peers",
			Help: "Nodes whose annotation or pod CIDR was rejected."}),
		Ready: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "ready",
			Help: "1 once the datapath converged at least once."}),
		PodMTU: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "pod_mtu_bytes",
			Help: "Pod MTU written to the node state file."}),
		ConvergeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "converge_duration_seconds",
			Help:    "Time to converge the datapath, by kind (incremental or resync).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"kind"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "errors_total",
			Help: "Errors by operation."}, []string{"op"}),
		Probes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "native_probes_total",
			Help: "Native probes by result (ok, failed)."}, []string{"result"}),
		PathsProgramed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "path_changes_total",
			Help: "Peer paths added, changed or removed in the kernel."}),
		FailedPaths: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "failed_peer_paths",
			Help: "Peer paths the kernel refused at their last attempt (retried with backoff; the other paths are programmed)."}),
	}
	reg.MustRegister(m.Peers, m.Unreachable, m.Ignored, m.Ready, m.PodMTU, m.ConvergeTime, m.Errors, m.Probes, m.PathsProgramed, m.FailedPaths)
	return m
}
