package bgptypes

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Session states, in RFC 4271's words.
const (
	StateIdle        = "idle"
	StateConnect     = "connect"
	StateActive      = "active"
	StateOpenSent    = "opensent"
	StateOpenConfirm = "openconfirm"
	StateEstablished = "established"
)

// Session is one BGP session as doctor and metrics show it.
type Session struct {
	Peer    netip.Addr `json:"peer"`
	PeerAS  uint32     `json:"peerAS"`
	LocalAS uint32     `json:"localAS"`
	State   string     `json:"state"`
	// Since is when the session reached Established (zero otherwise);
	// uptime is now - Since.
	Since time.Time `json:"since,omitzero"`
	// PrefixesSent counts our pod CIDRs the peer holds from us;
	// PrefixesReceived counts routes it sent, before the import filter.
	PrefixesSent     int `json:"prefixesSent"`
	PrefixesReceived int `json:"prefixesReceived"`
	// GracefulRestart: both ends negotiated it, so a restart of the agent
	// keeps the routes on the router.
	GracefulRestart bool `json:"gracefulRestart"`
}

// Established reports whether routes flow on this session.
func (s Session) Established() bool { return s.State == StateEstablished }

// Uptime is how long the session has been established at now.
func (s Session) Uptime(now time.Time) time.Duration {
	if !s.Established() || s.Since.IsZero() {
		return 0
	}
	return now.Sub(s.Since).Truncate(time.Second)
}

// Announcement is what the speaker announces: this node's pod CIDRs, each
// with the node IP of its family as next hop.
type Announcement struct {
	PodCIDRs []netip.Prefix
	NextHop4 netip.Addr
	NextHop6 netip.Addr
}

// NextHop is the next hop announced for p.
func (a Announcement) NextHop(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		return a.NextHop4
	}
	return a.NextHop6
}

// Validate refuses what must never be announced: a prefix that is not a
// network address, a default route, or one without a next hop of its family.
func (a Announcement) Validate() error {
	if a.NextHop4.IsValid() && !a.NextHop4.Is4() {
		return fmt.Errorf("IPv4 next hop %s is not an IPv4 address", a.NextHop4)
	}
	if a.NextHop6.IsValid() && (!a.NextHop6.Is6() || a.NextHop6.Is4In6()) {
		return fmt.Errorf("IPv6 next hop %s is not an IPv6 address", a.NextHop6)
	}
	seen := map[netip.Prefix]bool{}
	for _, p := range a.PodCIDRs {
		switch {
		case !p.IsValid():
			return errors.New("invalid pod CIDR")
		case p != p.Masked():
			return fmt.Errorf("pod CIDR %s has host bits set", p)
		case p.Bits() == 0:
			return fmt.Errorf("pod CIDR %s is a default route", p)
		case !a.NextHop(p).IsValid():
			return fmt.Errorf("pod CIDR %s: no node IP of its family for the next hop", p)
		case seen[p]:
			return fmt.Errorf("pod CIDR %s given twice", p)
		}
		seen[p] = true
	}
	return nil
}

// Route is a route learnt from a peer.
type Route struct {
	Prefix  netip.Prefix `json:"prefix"`
	NextHop netip.Addr   `json:"nextHop"`
	Peer    netip.Addr   `json:"peer"`
}

// Status is the speaker's state as the agent publishes it and doctor shows
// it (bgp.Manager.Status).
type Status struct {
	Enabled bool
	// Announcing: at least one session is established and the speaker
	// announces at least one pod CIDR on it (Side.BGPAnnounced).
	Announcing bool
	Announced  []netip.Prefix
	Sessions   []Session
}
