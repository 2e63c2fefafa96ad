package agent

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
	"github.com/offload-overlay/offload-overlay/pkg/version"
)

// writePeers records every pair's decision and inputs in the peers file
// (see pkg/state/peerstate: doctor reads it to print the mode the agent
// programs). The file is rewritten only when its content changed, and a
// converge that changed nothing does not even build it: the content is a
// function of a few keys per path (peersKey), hashed in microseconds at
// 1000 peers where encoding the document takes milliseconds.
func (a *Agent) writePeers(peers []admission.Peer, ignored []admission.Ignored, paths []datapath.Path) {
	key, ok := a.peersKey(peers, ignored, paths)
	if ok && key == a.last.peers {
		return
	}
	f := a.peersFile(peers, ignored, paths)
	if !ok { // peers without a resourceVersion (tests): hash the content itself
		b, err := peerstate.Encode(f)
		if err != nil {
			a.log.Error("encoding the peers file", "err", err)
			return
		}
		if key = maphash.Bytes(peersSeed, b); key == a.last.peers {
			return
		}
	}
	f.UpdatedAt = time.Now().UTC()
	if err := peerstate.Write(a.cfg.StateDir, f); err != nil {
		a.metrics.Errors.WithLabelValues("state").Inc()
		a.log.Error("writing the peers file", "err", err)
		return
	}
	a.last.peers = key
}

var peersSeed = maphash.MakeSeed()

// peersKey hashes everything the peers file's content depends on: our own
// facts generation (verdict, tunnel kinds, MTU), and per path the peer's
// Node version (its annotation, IPs and pod CIDRs), our probe and underlay
// results for it, the route's on-link bit and the decision. ok is false
// when a peer has no resourceVersion to stand for its facts.
func (a *Agent) peersKey(peers []admission.Peer, ignored []admission.Ignored, paths []datapath.Path) (uint64, bool) {
	rv := make(map[string]string, len(peers))
	for _, p := range peers {
		if p.RV == "" {
			return 0, false
		}
		rv[p.Name] = p.RV
	}
	var h maphash.Hash
	h.SetSeed(peersSeed)
	var buf [8]byte
	num := func(n int) { h.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(n))) }
	addr := func(x netip.Addr) { b := x.As16(); h.Write(b[:]) }
	num(a.factsGen)
	num(a.up.MTU)
	h.WriteString(a.bgpKey())
	h.WriteString(a.local.Name)
	for _, ig := range ignored {
		h.WriteString(ig.Name)
		h.WriteByte(0)
		h.WriteString(ig.Reason)
		h.WriteByte(0)
	}
	for _, p := range paths {
		h.WriteString(p.Peer)
		h.WriteByte(0)
		h.WriteString(rv[p.Peer])
		h.WriteByte(0)
		h.WriteString(string(p.Mode))
		h.WriteString(a.failures[p.Key()].err)
		h.WriteByte(0)
		addr(p.PodCIDR.Addr())
		addr(p.PeerIP)
		for _, n := range []int{p.Family, p.PodCIDR.Bits(), p.MTU, p.Rule, bit(p.OnLink),
			bit(a.facts.NativeProbe[p.Peer]), bit(a.facts.UnderlayRoutes[p.Peer])} {
			num(n)
		}
	}
	return h.Sum64(), true
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// peersFile builds the document from the paths just programmed (sorted by
// peer, then family) and the peers' published facts, with the same sides
// pathFor gave decision.Decide.
func (a *Agent) peersFile(peers []admission.Peer, ignored []admission.Ignored, paths []datapath.Path) *peerstate.File {
	byName := make(map[string]*admission.Peer, len(peers))
	for i := range peers {
		byName[peers[i].Name] = &peers[i]
	}
	f := &peerstate.File{AgentVersion: version.Version, Node: a.cfg.NodeName,
		Config: a.cfg.Decision, Peers: []peerstate.Peer{}, BGP: a.bgpRecord()}
	for _, p := range paths {
		n := len(f.Peers)
		if n == 0 || f.Peers[n-1].Name != p.Peer {
			f.Peers = append(f.Peers, a.peerRecord(byName[p.Peer], p))
			n++
		}
		rec := &f.Peers[n-1]
		rec.Paths = append(rec.Paths, peerstate.Path{Family: p.Family, NodeIP: p.PeerIP.String(), PodCIDR: p.PodCIDR.String(),
			OnLink: p.OnLink, Mode: p.Mode, MTU: p.MTU, Rule: p.Rule, Reasons: p.Reasons, Failed: a.failures[p.Key()].err})
	}
	for _, ig := range ignored {
		f.Ignored = append(f.Ignored, peerstate.Ignored{Name: ig.Name, Reason: ig.Reason})
	}
	return f
}

// peerRecord starts a peer's entry from its first path.
func (a *Agent) peerRecord(peer *admission.Peer, first datapath.Path) peerstate.Peer {
	rec := peerstate.Peer{Name: first.Peer, Mode: first.Mode, MTU: first.MTU, Rule: first.Rule, Reasons: first.Reasons}
	if peer == nil { // cannot happen: every path comes from a peer
		return rec
	}
	for _, ip := range peer.IPs {
		if ip.IsValid() {
			rec.NodeIPs = append(rec.NodeIPs, ip.String())
		}
	}
	for _, c := range peer.PodCIDRs {
		rec.PodCIDRs = append(rec.PodCIDRs, c.String())
	}
	rec.Local = sideOf(a.facts, peer.Name, first.Family)
	rec.Peer = sideOf(peer.Facts, a.local.Name, first.Family)
	return rec
}
