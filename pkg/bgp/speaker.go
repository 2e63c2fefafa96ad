package bgp

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"slices"
	"sync"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
)

// Options build a Speaker.
type Options struct {
	Config bgpconfig.Config
	// NodeIPs are this node's underlay addresses (at most one per family):
	// the source of each session and the IPv4 router ID.
	NodeIPs []netip.Addr
	Logger  *slog.Logger
	// OnSessionChange, if set, is called (from a gobgp goroutine, so it
	// must not block) whenever a session changes state.
	OnSessionChange func(bgptypes.Session)
	// OnLearnt, if set and Config.Import is on, is called (from a gobgp
	// goroutine, so it must not block) whenever a peer sends an UPDATE:
	// Learnt has changed.
	OnLearnt func()
}

// Speaker is a running BGP speaker. Its methods are safe for concurrent use.
type Speaker struct {
	srv  *server.BgpServer
	cfg  bgpconfig.Config
	log  *slog.Logger
	stop context.CancelFunc

	mu        sync.Mutex
	announced map[netip.Prefix]netip.Addr // prefix -> next hop, as gobgp holds them
	done      bool
}

// Start runs a speaker with cfg's peers and no announcement yet.
func Start(ctx context.Context, opts Options) (*Speaker, error) {
	cfg := opts.Config
	if !cfg.Enabled() {
		return nil, errors.New("BGP is off (AS 0)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "bgp")
	rid, err := routerID(opts.NodeIPs)
	if err != nil {
		return nil, err
	}
	srv := server.NewBgpServer(server.LoggerOption(slogAdapter{log}))
	go srv.Serve()
	s := &Speaker{srv: srv, cfg: cfg, log: log, announced: map[netip.Prefix]netip.Addr{}}
	success := false
	defer func() {
		if !success {
			srv.Stop()
		}
	}()
	// ListenPort -1: no listener; the speaker dials its peers.
	global := &api.Global{Asn: cfg.AS, RouterId: rid.String(), ListenPort: -1}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: global}); err != nil {
		return nil, fmt.Errorf("starting BGP (AS %d, router ID %s): %w", cfg.AS, rid, err)
	}
	if err := setPolicies(ctx, srv, cfg.Import); err != nil {
		return nil, err
	}
	watchCtx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	if err := s.watchSessions(watchCtx, opts.OnSessionChange); err != nil {
		cancel()
		return nil, err
	}
	if err := s.watchLearnt(watchCtx, opts.OnLearnt); err != nil {
		cancel()
		return nil, err
	}
	for _, p := range cfg.Peers {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peerConf(cfg, p, sourceFor(p.Address, opts.NodeIPs))}); err != nil {
			cancel()
			return nil, fmt.Errorf("adding BGP peer %s: %w", p, err)
		}
	}
	log.Info("BGP speaker started", "as", cfg.AS, "routerID", rid, "config", cfg.String())
	success = true
	return s, nil
}

// watchSessions logs each state change once, in the agent's words, and
// hands it to the caller.
func (s *Speaker) watchSessions(ctx context.Context, fn func(bgptypes.Session)) error {
	req := &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}
	err := s.srv.WatchEvent(ctx, req, func(r *api.WatchEventResponse) {
		ev := r.GetPeer()
		if ev == nil || ev.GetType() != api.WatchEventResponse_PeerEvent_STATE {
			return
		}
		sess := sessionOf(ev.GetPeer())
		s.log.Info("BGP session state", "peer", sess.Peer, "peerAS", sess.PeerAS, "state", sess.State)
		if fn != nil {
			fn(sess)
		}
	})
	if err != nil {
		return fmt.Errorf("watching BGP sessions: %w", err)
	}
	return nil
}

// watchLearnt calls fn for every UPDATE received (gobgp's adj-in, the
// table Learnt reads), when import is on and fn is set.
func (s *Speaker) watchLearnt(ctx context.Context, fn func()) error {
	if !s.cfg.Import || fn == nil {
		return nil
	}
	filter := &api.WatchEventRequest_Table_Filter{Type: api.WatchEventRequest_Table_Filter_ADJIN}
	req := &api.WatchEventRequest{Table: &api.WatchEventRequest_Table{Filters: []*api.WatchEventRequest_Table_Filter{filter}}}
	err := s.srv.WatchEvent(ctx, req, func(r *api.WatchEventResponse) {
		if len(r.GetTable().GetPaths()) > 0 {
			fn()
		}
	})
	if err != nil {
		return fmt.Errorf("watching routes learnt over BGP: %w", err)
	}
	return nil
}

// Announce makes the announced set exactly a's pod CIDRs with their next
// hops: new ones are added, changed next hops replaced, others withdrawn.
// Calling it again with the same announcement changes nothing.
func (s *Speaker) Announce(ctx context.Context, a bgptypes.Announcement) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("refusing to announce: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return errors.New("BGP speaker stopped")
	}
	want := map[netip.Prefix]netip.Addr{}
	for _, p := range a.PodCIDRs {
		want[p] = a.NextHop(p)
	}
	for p, nh := range s.announced {
		if want[p] == nh {
			continue
		}
		if err := s.withdraw(ctx, p, nh); err != nil {
			return err
		}
	}
	for _, p := range sortedPrefixes(want) {
		nh := want[p]
		if s.announced[p] == nh {
			continue
		}
		path, err := unicastPath(p, nh)
		if err != nil {
			return err
		}
		if _, err := s.srv.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: path}); err != nil {
			return fmt.Errorf("announcing %s via %s: %w", p, nh, err)
		}
		s.announced[p] = nh
		s.log.Info("BGP announcing pod CIDR", "prefix", p, "nextHop", nh)
	}
	return nil
}

func (s *Speaker) withdraw(ctx context.Context, p netip.Prefix, nh netip.Addr) error {
	path, err := unicastPath(p, nh)
	if err != nil {
		return err
	}
	if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: path.Family, Path: path}); err != nil {
		return fmt.Errorf("withdrawing %s via %s: %w", p, nh, err)
	}
	delete(s.announced, p)
	s.log.Info("BGP withdrew pod CIDR", "prefix", p, "nextHop", nh)
	return nil
}

// Announced is the set the speaker currently announces, sorted.
func (s *Speaker) Announced() []netip.Prefix {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedPrefixes(s.announced)
}

// Sessions is the state of every configured peer, in configuration order.
func (s *Speaker) Sessions(ctx context.Context) ([]bgptypes.Session, error) {
	byAddr := map[netip.Addr]bgptypes.Session{}
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		sess := sessionOf(p)
		byAddr[sess.Peer] = sess
	})
	if err != nil {
		return nil, fmt.Errorf("listing BGP peers: %w", err)
	}
	out := make([]bgptypes.Session, 0, len(s.cfg.Peers))
	for _, p := range s.cfg.Peers {
		sess, ok := byAddr[p.Address]
		if !ok {
			sess = bgptypes.Session{Peer: p.Address, PeerAS: p.AS, LocalAS: s.cfg.AS, State: bgptypes.StateIdle}
		}
		out = append(out, sess)
	}
	return out, nil
}

// Learnt is every route received from the peers (before the agent's
// bgptypes.ImportRules), or nothing when import is off.
func (s *Speaker) Learnt(ctx context.Context) ([]bgptypes.Route, error) {
	if !s.cfg.Import {
		return nil, nil
	}
	var out []bgptypes.Route
	var decodeErr error
	for _, p := range s.cfg.Peers {
		for _, fam := range []*api.Family{familyV4, familyV6} {
			req := &api.ListPathRequest{TableType: api.TableType_ADJ_IN, Name: p.Address.String(), Family: fam}
			err := s.srv.ListPath(ctx, req, func(d *api.Destination) {
				for _, path := range d.GetPaths() {
					rt, err := routeOf(p.Address, path)
					if err != nil {
						decodeErr = errors.Join(decodeErr, err)
						continue
					}
					out = append(out, rt)
				}
			})
			if err != nil {
				return nil, fmt.Errorf("listing routes from %s: %w", p.Address, err)
			}
		}
	}
	return out, decodeErr
}

// Close says goodbye to every peer (NOTIFICATION Cease): routers withdraw
// this node's routes at once. For BGP being turned off, not for a restart.
func (s *Speaker) Close(ctx context.Context) error {
	if !s.finish() {
		return nil
	}
	err := s.srv.StopBgp(ctx, &api.StopBgpRequest{})
	s.stop()
	if err != nil {
		return fmt.Errorf("stopping BGP: %w", err)
	}
	s.log.Info("BGP speaker stopped: routes withdrawn")
	return nil
}

// Abandon leaves the sessions to the process exit: the kernel closes the
// TCP connections without a NOTIFICATION, which a router with graceful
// restart treats as a restart and keeps this node's routes meanwhile.
// Call it when the agent exits; the speaker must not be used after it.
func (s *Speaker) Abandon() {
	if s.finish() {
		s.stop()
		s.log.Info("BGP speaker left for the process exit", "gracefulRestart", s.cfg.GracefulRestart)
	}
}

func (s *Speaker) finish() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.done
	s.done = true
	return first
}

// routerID is the IPv4 node IP, or for an IPv6-only node a stable 32-bit
// value derived from its IPv6 address (BGP router IDs are 32 bits).
func routerID(nodeIPs []netip.Addr) (netip.Addr, error) {
	var v6 netip.Addr
	for _, a := range nodeIPs {
		if a = a.Unmap(); a.Is4() {
			return a, nil
		} else if a.Is6() && !v6.IsValid() {
			v6 = a
		}
	}
	if !v6.IsValid() {
		return netip.Addr{}, errors.New("BGP needs a node IP for the router ID")
	}
	h := fnv.New32a()
	h.Write(v6.AsSlice())
	var b [4]byte
	sum := h.Sum32() | 1 // never 0.0.0.0
	b[0], b[1], b[2], b[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	return netip.AddrFrom4(b), nil
}

// sourceFor is the node IP of the peer's family, or none.
func sourceFor(peer netip.Addr, nodeIPs []netip.Addr) netip.Addr {
	for _, a := range nodeIPs {
		if a.Unmap().Is4() == peer.Is4() {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func sortedPrefixes[V any](m map[netip.Prefix]V) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}
