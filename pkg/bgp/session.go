package bgp

import (
	"net/netip"
	"strings"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
)

// sessionOf turns gobgp's view of a neighbour into the agent's.
func sessionOf(p *api.Peer) bgptypes.Session {
	st := p.GetState()
	s := bgptypes.Session{
		PeerAS:  st.GetPeerAsn(),
		LocalAS: st.GetLocalAsn(),
		State:   stateName(st.GetSessionState()),
	}
	if s.PeerAS == 0 {
		s.PeerAS = p.GetConf().GetPeerAsn()
	}
	addr := st.GetNeighborAddress()
	if addr == "" {
		addr = p.GetConf().GetNeighborAddress()
	}
	s.Peer, _ = netip.ParseAddr(addr)
	s.Peer = s.Peer.Unmap()
	if s.Established() {
		if up := p.GetTimers().GetState().GetUptime(); up != nil {
			s.Since = up.AsTime().UTC()
		}
	}
	for _, af := range p.GetAfiSafis() {
		s.PrefixesSent += int(af.GetState().GetAdvertised())
		s.PrefixesReceived += int(af.GetState().GetReceived())
		if af.GetMpGracefulRestart().GetState().GetEnabled() {
			s.GracefulRestart = true
		}
	}
	return s
}

// stateName is RFC 4271's name, lower case (SESSION_STATE_ESTABLISHED -> established).
func stateName(st api.PeerState_SessionState) string {
	if st == api.PeerState_UNKNOWN {
		return bgptypes.StateIdle
	}
	return strings.ToLower(strings.TrimPrefix(st.String(), "SESSION_STATE_"))
}
