package topofuzz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// Verdict is the oracle's answer for one node pair.
type Verdict struct {
	// Connect: the network can carry pod traffic between the pair both ways
	// without a tunnel inside a tunnel.
	Connect bool
	// Direct: each end is the other's direct neighbour (native routing to
	// the node IPs needs no router).
	Direct bool
	// Tunnel: a tunnel lies on the path (an overlay would nest).
	Tunnel bool
	// Why explains the answer in words, with the path both ways.
	Why string
}

// graph is the generated network as the oracle sees it.
type graph struct {
	spec  topo.Spec
	nodes map[string]gnode
	memo  map[[2]string]Verdict
	busy  map[[2]string]bool
}

// gnode is where a node sits: the domain of its node IPs, every domain it
// has an address on, and where it sends what is not on them.
type gnode struct {
	name     string
	ip       string   // domain of the node IPs
	domains  []string // every domain with an address of the node
	gw       string   // next entity for anything else: "router" or the hub's name
	gwDomain string   // the domain the gateway is reached on
	podSeg   string   // the segment the router's pod routes know it by
}

const router = "router"

// edgeDomain is edge k's point-to-point tunnel, a domain of its own.
func edgeDomain(name string) string { return "p:" + name }

func isTunnel(domain string) bool { return domain == topo.SegX || strings.HasPrefix(domain, "p:") }

func newGraph(s topo.Spec) *graph {
	g := &graph{spec: s, nodes: map[string]gnode{}, memo: map[[2]string]Verdict{}, busy: map[[2]string]bool{}}
	for _, n := range s.Nodes {
		gn := gnode{name: n.Name, ip: n.Segment, domains: []string{n.Segment}, gw: router, gwDomain: n.Segment, podSeg: n.Segment}
		switch {
		case n.Hub != "":
			d := edgeDomain(n.Name)
			gn.ip, gn.domains, gn.gw, gn.gwDomain = d, []string{d}, n.Hub, d
		case n.ClusterSegment != "":
			gn.ip, gn.domains = n.ClusterSegment, []string{n.Segment, n.ClusterSegment}
		}
		g.nodes[n.Name] = gn
	}
	for _, n := range s.Nodes {
		if n.Hub != "" {
			h := g.nodes[n.Hub]
			h.domains = append(h.domains, edgeDomain(n.Name))
			g.nodes[n.Hub] = h
		}
	}
	return g
}

// hop is one forwarding step: entity sends out on domain.
type hop struct{ from, domain, to string }

// path lists the hops from node a to node b's node IP.
func (g *graph) path(a, b string) []hop {
	dst := g.nodes[b]
	var out []hop
	cur := a
	for range 8 {
		if cur == b {
			return out
		}
		if cur == router {
			if strings.HasPrefix(dst.ip, "p:") { // an edge's subnet: via its hub
				hub := g.nodes[g.hubOf(b)]
				out = append(out, hop{router, hub.ip, hub.name})
				cur = hub.name
				continue
			}
			out = append(out, hop{router, dst.ip, b})
			return out
		}
		n := g.nodes[cur]
		if slices.Contains(n.domains, dst.ip) {
			out = append(out, hop{cur, dst.ip, b})
			return out
		}
		out = append(out, hop{cur, n.gwDomain, n.gw})
		cur = n.gw
	}
	return out
}

// Connect is the oracle's verdict for every unordered pair, keyed "a|b"
// with a < b in the spec's node order.
func Connect(s topo.Spec) map[string]Verdict {
	g := newGraph(s)
	out := map[string]Verdict{}
	for i, a := range s.Nodes {
		for _, b := range s.Nodes[i+1:] {
			out[PairKey(a.Name, b.Name)] = g.verdict(a.Name, b.Name)
		}
	}
	return out
}

// PairKey names an unordered pair.
func PairKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + "|" + b
}

func (g *graph) verdict(a, b string) Verdict {
	k := [2]string{a, b}
	if v, ok := g.memo[k]; ok {
		return v
	}
	if g.busy[k] {
		return Verdict{Why: "cycle"} // a pair that needs itself to forward
	}
	g.busy[k] = true
	defer delete(g.busy, k)
	ab, ba := g.path(a, b), g.path(b, a)
	v := Verdict{Direct: len(ab) == 1 && len(ba) == 1}
	for _, h := range append(slices.Clone(ab), ba...) {
		v.Tunnel = v.Tunnel || isTunnel(h.domain)
	}
	paths := fmt.Sprintf("%s; %s", words(a, ab), words(b, ba))
	switch {
	case v.Direct:
		v.Connect, v.Why = true, "direct neighbours both ways: "+paths
	case !v.Tunnel:
		v.Connect, v.Why = true, "no tunnel on the path, one overlay level works: "+paths
	default:
		// Native both ways: pods follow the agents' routes (the node IPs'
		// paths), and the agents learn it only from a probe whose reply
		// follows the other end's own routes (its default route).
		fa, wa := g.forwards(ab, b)
		fb, wb := g.forwards(ba, a)
		da, wda := g.forwards(g.defaultPath(a, b), b)
		db, wdb := g.forwards(g.defaultPath(b, a), a)
		v.Connect = fa && fb && da && db
		v.Why = fmt.Sprintf("a tunnel on the path (an overlay would nest), native needs every hop to route pod CIDRs, on the node IPs' paths and on each end's default route: %s: %s; %s; default routes: %s; %s",
			paths, wa, wb, wda, wdb)
	}
	g.memo[k] = v
	return v
}

// forwards reports whether every transit hop of p routes dst's pod CIDRs
// towards dst (the first hop is the sender's own route). The agents add
// routes only towards their peers: a hub's towards its edges and its
// other peers, which transit traffic then uses.
func (g *graph) forwards(p []hop, dst string) (bool, string) {
	for i, h := range p[1:] {
		in := p[i].domain
		switch {
		case h.from == router:
			if !g.routerRoutes(dst, in) {
				return false, fmt.Sprintf("the router drops %s's pods arriving from %s", dst, in)
			}
		case g.hubOf(dst) == h.from:
			// the hub routes its own edge's pods (direct neighbours)
		default:
			if v := g.verdict(h.from, dst); !v.Connect {
				return false, fmt.Sprintf("%s has no route to %s's pods (%s)", h.from, dst, v.Why)
			}
		}
	}
	return true, fmt.Sprintf("every hop to %s routes its pods", dst)
}

// routerRoutes: the router carries dst's pod CIDR for traffic arriving from
// domain in (main table for dst's segment, or policy routing for in).
func (g *graph) routerRoutes(dst, in string) bool {
	segs := g.spec.PodRouteSegments
	return slices.Contains(segs, "*") || slices.Contains(segs, g.nodes[dst].podSeg) || slices.Contains(segs, in)
}

func words(from string, p []hop) string {
	parts := []string{from}
	for _, h := range p {
		d := h.domain
		if isTunnel(d) {
			d += " (tunnel)"
		}
		parts = append(parts, fmt.Sprintf("-[%s]-> %s", d, h.to))
	}
	return strings.Join(parts, " ")
}

// defaultPath is where a's own routes send b's pod CIDRs: its default
// route, the way of b's node IP for every node but an edge whose tunnel
// carries only the lab's prefixes (its default leaves by the transport,
// to the router).
func (g *graph) defaultPath(a, b string) []hop {
	if g.defaultFollows(a) {
		return g.path(a, b)
	}
	return append([]hop{{a, "t", router}}, g.path(router, b)...)
}

// defaultFollows: the node's default route leaves by its gateway for node
// IPs (every node but an edge whose tunnel carries only the lab's prefixes).
func (g *graph) defaultFollows(name string) bool {
	for _, n := range g.spec.Nodes {
		if n.Name == name {
			return n.Hub == "" || n.TunnelDefault
		}
	}
	return true
}

func (g *graph) hubOf(name string) string {
	for _, n := range g.spec.Nodes {
		if n.Name == name {
			return n.Hub
		}
	}
	return ""
}
