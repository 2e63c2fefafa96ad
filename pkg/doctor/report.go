package doctor

import (
	"fmt"
	"net"
	"os"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// Options select what doctor inspects and how the agent is configured.
type Options struct {
	// NetNS is the namespace to inspect (nil: the caller's).
	NetNS ns.NetNS
	// Node is the node name reported ("" : the host name).
	Node string
	// Peer is the peer node IP; nil means an off-link peer of the same kind
	// as this node, reached by the default route.
	Peer net.IP
	// Iface names the uplink to walk from instead of the route's device.
	Iface string
	// PeerPodCIDR, when known, lets doctor check whether a tunnel underlay
	// routes it (decision rule 3).
	PeerPodCIDR *net.IPNet
	// Config is the agent's decision configuration (--mode, ...).
	Config decision.Config
	// Encaps overrides the kernel probe (tests); nil probes the kernel.
	Encaps []offload.EncapSupport
	// StateDir is the agent's state directory; its peers file (the agent's
	// record of every pair) gives the peer's side. "" : not consulted.
	StateDir string
}

// Report is doctor's analysis. JSON keys are stable (see the README).
type Report struct {
	Node string `json:"node"`
	// Peer is the peer node IP, "" without --peer.
	Peer  string `json:"peer"`
	Route Route  `json:"route"`
	// Hops are the route's ECMP next hops (absent without multipath):
	// Path then walks below every one of them.
	Hops []offload.Hop `json:"hops,omitempty"`
	// Path is the egress device followed by every device below it.
	Path []Device `json:"path"`
	// Encaps says which overlay tunnels this kernel can create.
	Encaps []Encap `json:"encaps"`
	// Segmentation says where super-packets are cut, per kind of traffic
	// ("native", "vxlan", "geneve").
	Segmentation map[offload.Traffic]offload.SegmentationPoint `json:"segmentation"`
	Verdict      offload.Verdict                               `json:"verdict"`
	Decision     Decision                                      `json:"decision"`
	// Peers is, without --peer, every path in the agent's peers file,
	// decided again with this node's kernel as read now.
	Peers []PeerDecision `json:"peers,omitempty"`
	// Ignored are the Nodes the agent did not admit as peers, with its
	// reason (peers file present; absent when none).
	Ignored []peerstate.Ignored `json:"ignored,omitempty"`
	// FailedPaths are the peer paths the kernel refused at the agent's
	// last attempt (peers file present; absent when none).
	FailedPaths []FailedPath `json:"failedPaths,omitempty"`
	// BGP is the agent's BGP speaker as its peers file recorded it: the
	// pod CIDRs it announces and each session (absent when BGP is off).
	BGP *peerstate.BGP `json:"bgp,omitempty"`
}

// Route is the kernel's route towards the peer (or the default route).
type Route struct {
	Egress  string `json:"egress"`
	Gateway string `json:"gateway,omitempty"`
	Source  string `json:"source,omitempty"`
	OnLink  bool   `json:"onLink"`
}

// Device is one device on the path.
type Device struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Driver string `json:"driver"`
	MTU    int    `json:"mtu"`
	// Features maps the relevant ethtool features to ethtool's words:
	// "on", "off", "on [fixed]", "off [fixed]", "off [requested on]".
	Features       map[string]string `json:"features"`
	Relation       offload.Relation  `json:"relation"`
	Via            string            `json:"via,omitempty"`
	Master         string            `json:"master,omitempty"`
	Lower          []string          `json:"lower,omitempty"`
	Tunnel         string            `json:"tunnel,omitempty"`
	Note           string            `json:"note,omitempty"`
	GSOMaxSize     uint32            `json:"gsoMaxSize"`
	GSOMaxSegs     uint32            `json:"gsoMaxSegs"`
	GROMaxSize     uint32            `json:"groMaxSize"`
	GSOIPv4MaxSize uint32            `json:"gsoIPv4MaxSize"`
	GROIPv4MaxSize uint32            `json:"groIPv4MaxSize"`
	FeatureError   string            `json:"featureError,omitempty"`
}

// Encap is one overlay tunnel kind and whether the kernel can create it.
type Encap struct {
	Kind   string `json:"kind"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Decision is what the agent would choose for the peer.
type Decision struct {
	Mode         decision.Mode   `json:"mode"`
	MTU          int             `json:"mtu"`
	Reasons      []string        `json:"reasons"`
	Rule         int             `json:"rule"`
	Overhead     int             `json:"overhead"`
	Segmentation string          `json:"segmentation"`
	Nested       bool            `json:"nested"`
	Config       decision.Config `json:"config"`
	// Source says where the peer's side came from: SourceAgentState or
	// SourceLocalKernel.
	Source string `json:"source"`
	// Agent is what the agent recorded for this peer (agent-state only).
	Agent *AgentPath `json:"agent,omitempty"`
}

// Build inspects the node's kernel and computes the report.
func Build(o Options) (*Report, error) {
	path, egress, err := inspect(o)
	if err != nil {
		return nil, err
	}
	encaps, probeNote := probe(o.Encaps)
	r := &Report{
		Node:    nodeName(o.Node),
		Route:   routeOf(path),
		Path:    devicesOf(path),
		Encaps:  encapsOf(encaps),
		Verdict: path.Verdict(),
	}
	if o.Peer != nil {
		r.Peer = o.Peer.String()
	}
	if egress != nil && len(egress.Hops) > 1 {
		r.Hops = egress.Hops
	}
	r.Segmentation = segmentationOf(path, encaps)
	in, notes, err := inputOf(o, path, egress, r.Verdict, encaps)
	if err != nil {
		return nil, err
	}
	st := loadAgentState(o.StateDir)
	in, notes, agent := st.apply(o, in, notes)
	if probeNote != "" {
		notes = append(notes, probeNote)
	}
	r.Decision = decisionOf(o.Config, in, notes)
	r.Decision.Source, r.Decision.Agent = SourceLocalKernel, agent
	if agent != nil {
		r.Decision.Source = SourceAgentState
	}
	if o.Peer == nil && st.file != nil {
		r.Peers = st.peersList(o.Config, in.Local)
	}
	if st.file != nil {
		r.Ignored, r.FailedPaths = ignoredOf(st.file), failedOf(st.file)
	}
	if st.file != nil {
		r.BGP = st.file.BGP
	}
	return r, nil
}

// inspect reads the egress path: towards --peer, the agent's own per-peer
// egress (the route after policy routing, every ECMP next hop, the walk
// below each), else the default route or --iface's device.
func inspect(o Options) (*offload.Path, *offload.Egress, error) {
	if o.Peer != nil && o.Iface == "" {
		e, err := offload.EgressTo(o.NetNS, o.Peer)
		if err != nil {
			return nil, nil, fmt.Errorf("inspecting the egress towards %s: %w", o.Peer, err)
		}
		e.Path.OnLink = e.AllOnLink()
		return e.Path, e, nil
	}
	path, err := offload.InspectIn(o.NetNS, offload.Target{Dest: o.Peer, Iface: o.Iface})
	if err != nil {
		return nil, nil, fmt.Errorf("inspecting the egress path: %w", err)
	}
	return path, nil, nil
}

// probe returns the tunnel kinds the kernel can create. Without the
// privileges to create a scratch namespace, doctor still reports the rest
// and assumes VXLAN only, saying so.
func probe(given []offload.EncapSupport) ([]offload.EncapSupport, string) {
	if given != nil {
		return given, ""
	}
	es, err := offload.ProbeEncapSupport()
	if err == nil {
		return es, ""
	}
	return []offload.EncapSupport{
		{Kind: "vxlan", OK: true},
		{Kind: "geneve", Error: fmt.Errorf("not probed: %w", err)},
	}, fmt.Sprintf("could not probe tunnel kinds (%v; needs CAP_SYS_ADMIN and CAP_NET_ADMIN): assumed VXLAN only", err)
}

func nodeName(n string) string {
	if n != "" {
		return n
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return ""
}

func routeOf(p *offload.Path) Route {
	rt := Route{Egress: p.Egress, OnLink: p.OnLink}
	if p.Gateway != nil {
		rt.Gateway = p.Gateway.String()
	}
	if p.Source != nil {
		rt.Source = p.Source.String()
	}
	return rt
}

func devicesOf(p *offload.Path) []Device {
	out := make([]Device, 0, len(p.Devices))
	for _, d := range p.Devices {
		out = append(out, Device{
			Name: d.Name, Kind: d.Kind, Driver: d.Driver, MTU: d.MTU,
			Features: d.Features.Relevant(), Relation: d.Relation, Via: d.Via,
			Master: d.Master, Lower: d.Lower, Tunnel: d.Tunnel, Note: d.Note,
			GSOMaxSize: d.GSOMaxSize, GSOMaxSegs: d.GSOMaxSegs, GROMaxSize: d.GROMaxSize,
			GSOIPv4MaxSize: d.GSOIPv4MaxSize, GROIPv4MaxSize: d.GROIPv4MaxSize,
			FeatureError: d.FeatureError,
		})
	}
	return out
}

func encapsOf(es []offload.EncapSupport) []Encap {
	out := make([]Encap, 0, len(es))
	for _, e := range es {
		x := Encap{Kind: e.Kind, OK: e.OK}
		if e.Error != nil {
			x.Reason = e.Error.Error()
		}
		out = append(out, x)
	}
	return out
}

func segmentationOf(p *offload.Path, es []offload.EncapSupport) map[offload.Traffic]offload.SegmentationPoint {
	out := map[offload.Traffic]offload.SegmentationPoint{}
	for _, t := range []offload.Traffic{offload.TrafficNative, offload.TrafficVXLAN, offload.TrafficGeneve} {
		if t != offload.TrafficNative && !supported(es, string(t)) {
			out[t] = offload.SegmentationPoint{Where: "unavailable", Detail: fmt.Sprintf("this kernel cannot create %s devices", t)}
			continue
		}
		out[t] = p.SegmentationFor(t)
	}
	return out
}

func supported(es []offload.EncapSupport, kind string) bool {
	for _, e := range es {
		if e.Kind == kind {
			return e.OK
		}
	}
	return false
}
