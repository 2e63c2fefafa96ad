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
		if af.GetMpGracefulRestart().GetState().GetEnabled() {
			s.GracefulRestart = true
		}
	}
	for _, af := range p.GetAfiSafis() {
		s.PrefixesSent += sentPrefixes(af.GetState().GetAdvertised(), s.GracefulRestart)
		s.PrefixesReceived += int(af.GetState().GetReceived())
	}
	if s.GracefulRestart && p.GetGracefulRestart().GetLocalRestarting() {
		// gobgp holds its updates until the peer's End-of-RIB: nothing
		// has been sent yet, whatever its adj-out says.
		s.PrefixesSent = 0
	}
	return s
}

// sentPrefixes is gobgp's "advertised" count for one family without the
// End-of-RIB marker it counts as a path once graceful restart is negotiated.
func sentPrefixes(advertised uint64, gr bool) int {
	if gr && advertised > 0 {
		advertised--
	}
	return int(advertised)
}

// stateName is RFC 4271's name, lower case (SESSION_STATE_ESTABLISHED -> established).
func stateName(st api.PeerState_SessionState) string {
	if st == api.PeerState_UNKNOWN {
		return bgptypes.StateIdle
	}
	return strings.ToLower(strings.TrimPrefix(st.String(), "SESSION_STATE_"))
}
