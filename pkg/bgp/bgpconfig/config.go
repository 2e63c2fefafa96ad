package bgpconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Flag names (without the leading dashes), their environment fallbacks
// (OFFLOAD_OVERLAY_ + upper case with underscores) and the Node keys that
// override them per node.
const (
	FlagAS              = "bgp-as"
	FlagPeer            = "bgp-peer"
	FlagPassword        = "bgp-password"
	FlagHoldTime        = "bgp-hold-time"
	FlagGracefulRestart = "bgp-graceful-restart"
	FlagImport          = "bgp-import"

	// LabelAS overrides --bgp-as on one node ("0" turns BGP off there).
	LabelAS = "offload-overlay.io/bgp-as"
	// LabelPeers replaces --bgp-peer on one node. As a label value it can
	// only hold IPv4 peers as ADDRESS-AS joined by "_" (label values allow
	// no ':' or ','); the annotation of the same key takes the flag's
	// syntax (ADDRESS:AS, comma-separated, IPv6 too) and wins over the label.
	LabelPeers = "offload-overlay.io/bgp-peers"
)

// Defaults, as most routers use them.
const (
	// DefaultHoldTime is RFC 4271's suggested 90 s (keepalive every 30 s).
	DefaultHoldTime = 90 * time.Second
	// DefaultRestartTime is how long a router keeps this node's routes
	// while the agent restarts (graceful restart); an upgrade of the
	// DaemonSet pod takes well under it.
	DefaultRestartTime = 120 * time.Second
	// MinHoldTime is RFC 4271's lower bound for a non-zero hold time.
	MinHoldTime = 3 * time.Second
	// MaxPasswordLen is the kernel's TCP MD5 key limit (TCP_MD5SIG_MAXKEYLEN).
	MaxPasswordLen = 80
	// asTrans is RFC 6793's AS_TRANS, a placeholder no speaker may own.
	asTrans = 23456
)

// Peer is one BGP neighbour of this node (typically its top-of-rack router).
type Peer struct {
	Address netip.Addr
	AS      uint32
}

func (p Peer) String() string {
	return fmt.Sprintf("%s:%d", addrString(p.Address), p.AS)
}

// Config is the validated BGP configuration of one node.
type Config struct {
	// AS is this node's autonomous system number; 0 turns BGP off.
	AS    uint32
	Peers []Peer
	// Password is the TCP MD5 key shared with every peer ("" = none).
	Password string
	// HoldTime is proposed to each peer; the keepalive is a third of it.
	HoldTime time.Duration
	// GracefulRestart advertises RFC 4724 graceful restart so that a
	// restarting agent keeps its routes on the router.
	GracefulRestart bool
	// RestartTime is how long the router keeps them (with GracefulRestart).
	RestartTime time.Duration
	// Import accepts routes learnt from the peers (inside the cluster
	// CIDRs only); off by default.
	Import bool
}

// Enabled reports whether this node runs a BGP speaker.
func (c Config) Enabled() bool { return c.AS != 0 }

// Validate checks the whole configuration of one node, after its Node's
// overrides (WithNode): with BGP on, a peer is required.
func (c Config) Validate() error {
	if err := c.validateValues(); err != nil || !c.Enabled() {
		return err
	}
	if len(c.Peers) == 0 {
		return &FlagError{Flag: FlagPeer, Err: fmt.Errorf("at least one peer is required when BGP is on (AS %d); set --%s ADDRESS:AS or the Node's %s", c.AS, FlagPeer, LabelPeers)}
	}
	return nil
}

// validateValues checks what the flags alone can tell: no peer twice, a
// hold time RFC 4271 allows. The peers may still come from Node labels.
func (c Config) validateValues() error {
	seen := map[netip.Addr]bool{}
	for _, p := range c.Peers {
		if seen[p.Address] {
			return &FlagError{Flag: FlagPeer, Value: p.String(), Err: errors.New("peer given twice")}
		}
		seen[p.Address] = true
	}
	if c.HoldTime != 0 && c.HoldTime < MinHoldTime {
		return &FlagError{Flag: FlagHoldTime, Value: c.HoldTime.String(), Err: fmt.Errorf("must be at least %s", MinHoldTime)}
	}
	return nil
}

// FlagError names the flag (or Node key) whose value was rejected.
type FlagError struct {
	Flag  string // flag name without dashes, or a Node label/annotation key
	Value string // "" for a password
	Err   error
}

func (e *FlagError) Error() string {
	name := "--" + e.Flag
	if e.Flag == LabelAS || e.Flag == LabelPeers {
		name = "node label/annotation " + e.Flag
	}
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", name, e.Err)
	}
	return fmt.Sprintf("%s: invalid value %q: %v", name, e.Value, e.Err)
}

func (e *FlagError) Unwrap() error { return e.Err }

func addrString(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// String shows the configuration without the password.
func (c Config) String() string {
	var peers []string
	for _, p := range c.Peers {
		peers = append(peers, p.String())
	}
	pw := "none"
	if c.Password != "" {
		pw = "set"
	}
	return fmt.Sprintf("as=%d peers=[%s] password=%s hold=%s gr=%t restart=%s import=%t",
		c.AS, strings.Join(peers, ","), pw, c.HoldTime, c.GracefulRestart, c.RestartTime, c.Import)
}
