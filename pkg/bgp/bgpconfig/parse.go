package bgpconfig

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Raw holds the flag strings before validation.
type Raw struct {
	AS              string
	Peers           []string
	Password        string
	HoldTime        string
	GracefulRestart bool
	Import          bool
}

// RegisterFlags adds the BGP flags to fs with their environment fallbacks
// (OFFLOAD_OVERLAY_BGP_AS, _BGP_PEER (comma-separated), _BGP_PASSWORD,
// _BGP_HOLD_TIME, _BGP_GRACEFUL_RESTART, _BGP_IMPORT); getenv is os.Getenv
// in production. The password is meant to come from a Secret through the
// environment: a flag would show it in the process list.
func RegisterFlags(fs *flag.FlagSet, getenv func(string) string) *Raw {
	env := func(flagName string) string { return getenv(EnvName(flagName)) }
	envBool := func(flagName string) bool {
		b, _ := strconv.ParseBool(env(flagName))
		return b
	}
	r := &Raw{AS: env(FlagAS), Password: env(FlagPassword), HoldTime: env(FlagHoldTime)}
	if r.HoldTime == "" {
		r.HoldTime = DefaultHoldTime.String()
	}
	r.Peers = splitList(env(FlagPeer))
	fs.StringVar(&r.AS, FlagAS, r.AS, "this node's BGP AS number; 0 or empty: BGP off")
	fs.Var(&peerList{raw: r}, FlagPeer, "BGP peer ADDRESS:AS, IPv6 as [ADDRESS]:AS (repeatable or comma-separated)")
	fs.StringVar(&r.Password, FlagPassword, r.Password, "TCP MD5 password shared with the peers (prefer $"+EnvName(FlagPassword)+" from a Secret)")
	fs.StringVar(&r.HoldTime, FlagHoldTime, r.HoldTime, "BGP hold time proposed to the peers")
	fs.BoolVar(&r.GracefulRestart, FlagGracefulRestart, envBool(FlagGracefulRestart), "advertise graceful restart: routers keep this node's routes while the agent restarts")
	fs.BoolVar(&r.Import, FlagImport, envBool(FlagImport), "import routes learnt from the peers (inside the cluster CIDRs only)")
	return r
}

// EnvName is the environment fallback of a flag: bgp-as -> OFFLOAD_OVERLAY_BGP_AS.
func EnvName(flagName string) string {
	return "OFFLOAD_OVERLAY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// peerList is the repeatable --bgp-peer; the first flag replaces the
// environment's list.
type peerList struct {
	raw *Raw
	set bool
}

func (p *peerList) String() string {
	if p.raw == nil {
		return ""
	}
	return strings.Join(p.raw.Peers, ",")
}

func (p *peerList) Set(v string) error {
	if !p.set {
		p.raw.Peers, p.set = nil, true
	}
	p.raw.Peers = append(p.raw.Peers, splitList(v)...)
	return nil
}

// Parse validates the flag values. --bgp-as without --bgp-peer is valid
// here: the peers may come from the Node (WithNode validates the result).
func Parse(r Raw) (Config, error) {
	c := Config{GracefulRestart: r.GracefulRestart, Import: r.Import, RestartTime: DefaultRestartTime}
	var err error
	if c.AS, err = parseAS(FlagAS, r.AS, true); err != nil {
		return Config{}, err
	}
	for _, s := range r.Peers {
		p, err := ParsePeer(s)
		if err != nil {
			return Config{}, &FlagError{Flag: FlagPeer, Value: s, Err: err}
		}
		c.Peers = append(c.Peers, p)
	}
	if len(r.Password) > MaxPasswordLen {
		return Config{}, &FlagError{Flag: FlagPassword, Err: fmt.Errorf("longer than the kernel's TCP MD5 limit of %d bytes", MaxPasswordLen)}
	}
	c.Password = r.Password
	if c.HoldTime, err = parseHoldTime(r.HoldTime); err != nil {
		return Config{}, err
	}
	return c, c.validateValues()
}

// ParseAS reads an AS number: plain (4200000001) or asdot (64086.59905).
func ParseAS(s string) (uint32, error) { return parseAS(FlagAS, s, false) }

func parseAS(flagName, s string, allowOff bool) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" && allowOff {
		return 0, nil
	}
	n, err := asNumber(s)
	if err != nil {
		return 0, &FlagError{Flag: flagName, Value: s, Err: err}
	}
	switch {
	case n == 0 && !allowOff:
		return 0, &FlagError{Flag: flagName, Value: s, Err: errors.New("AS 0 is reserved (RFC 7607)")}
	case n == asTrans:
		return 0, &FlagError{Flag: flagName, Value: s, Err: errors.New("AS 23456 is AS_TRANS (RFC 6793), not a real AS")}
	case n == 1<<32-1:
		return 0, &FlagError{Flag: flagName, Value: s, Err: errors.New("AS 4294967295 is reserved (RFC 7300)")}
	}
	return n, nil
}

func asNumber(s string) (uint32, error) {
	if hi, lo, ok := strings.Cut(s, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, errors.New("want an AS number: 1..4294967294 or asdot HIGH.LOW")
		}
		return uint32(h)<<16 | uint32(l), nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("want an AS number: 1..4294967294 or asdot HIGH.LOW")
	}
	return uint32(n), nil
}

// ParsePeer reads ADDRESS:AS, with an IPv6 address in brackets
// ([fd00::1]:65000); an unbracketed IPv6 address is split at its last colon.
func ParsePeer(s string) (Peer, error) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Peer{}, errors.New("want ADDRESS:AS (IPv6 as [ADDRESS]:AS)")
	}
	host, asText := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]"), s[i+1:]
	a, err := netip.ParseAddr(host)
	if err != nil {
		return Peer{}, fmt.Errorf("address: %w", err)
	}
	if a.Zone() != "" || !(a.IsGlobalUnicast() || a.IsPrivate()) || a.IsMulticast() {
		return Peer{}, fmt.Errorf("address %s: want a unicast address without zone", a)
	}
	as, err := parseAS(FlagPeer, asText, false)
	if err != nil {
		var fe *FlagError
		if errors.As(err, &fe) {
			return Peer{}, fmt.Errorf("AS %q: %w", asText, fe.Err)
		}
		return Peer{}, err
	}
	return Peer{Address: a.Unmap(), AS: as}, nil
}

func parseHoldTime(s string) (time.Duration, error) {
	if s == "" {
		return DefaultHoldTime, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if n, errN := strconv.Atoi(s); errN == nil { // routers write seconds
			d, err = time.Duration(n)*time.Second, nil
		}
	}
	if err != nil {
		return 0, &FlagError{Flag: FlagHoldTime, Value: s, Err: err}
	}
	if d < MinHoldTime || d > 65535*time.Second || d%time.Second != 0 {
		return 0, &FlagError{Flag: FlagHoldTime, Value: s, Err: fmt.Errorf("want whole seconds from %s to 65535s", MinHoldTime)}
	}
	return d, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
