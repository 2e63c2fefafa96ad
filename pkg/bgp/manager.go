package bgp

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sync"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
)

// Manager keeps one speaker matching the node: started when BGP is on,
// restarted when its configuration or the node IPs change, told the pod
// CIDRs to announce, and stopped when BGP is turned off. The agent calls
// Ensure on every sync with what it read from its Node; Ensure is cheap
// when nothing changed.
type Manager struct {
	log      *slog.Logger
	onChange func(bgptypes.Session)
	onLearnt func()

	mu      sync.Mutex
	sp      *Speaker
	cfg     bgpconfig.Config
	nodeIPs []netip.Addr
}

// NewManager returns a manager with no speaker; onChange (may be nil) is
// called from gobgp's goroutine on every session state change.
func NewManager(log *slog.Logger, onChange func(bgptypes.Session)) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{log: log, onChange: onChange}
}

// OnLearnt sets fn to be called (from gobgp's goroutine, so it must not
// block) whenever a peer sends routes while import is on; set it before
// the first Ensure.
func (m *Manager) OnLearnt(fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onLearnt = fn
}

// Ensure converges the speaker to cfg (already validated with the Node's
// overrides), the node IPs and this node's pod CIDRs.
func (m *Manager) Ensure(ctx context.Context, cfg bgpconfig.Config, nodeIPs []netip.Addr, podCIDRs []netip.Prefix) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sp != nil && (!cfg.Enabled() || !sameConfig(cfg, m.cfg) || !slices.Equal(nodeIPs, m.nodeIPs)) {
		m.log.Info("BGP configuration changed: stopping the speaker", "was", m.cfg.String(), "now", cfg.String())
		err := m.sp.Close(ctx)
		m.sp = nil
		if err != nil {
			return err
		}
	}
	if !cfg.Enabled() {
		return nil
	}
	if m.sp == nil {
		sp, err := Start(ctx, Options{Config: cfg, NodeIPs: nodeIPs, Logger: m.log, OnSessionChange: m.onChange, OnLearnt: m.onLearnt})
		if err != nil {
			return err
		}
		m.sp, m.cfg, m.nodeIPs = sp, cfg, slices.Clone(nodeIPs)
	}
	return m.sp.Announce(ctx, announcement(nodeIPs, podCIDRs))
}

// announcement pairs each pod CIDR with the node IP of its family; a pod
// CIDR of a family without a node IP is left out (nothing could route it).
func announcement(nodeIPs []netip.Addr, podCIDRs []netip.Prefix) bgptypes.Announcement {
	var a bgptypes.Announcement
	for _, ip := range nodeIPs {
		if ip = ip.Unmap(); ip.Is4() && !a.NextHop4.IsValid() {
			a.NextHop4 = ip
		} else if ip.Is6() && !a.NextHop6.IsValid() {
			a.NextHop6 = ip
		}
	}
	for _, p := range podCIDRs {
		if a.NextHop(p).IsValid() {
			a.PodCIDRs = append(a.PodCIDRs, p)
		}
	}
	return a
}

func sameConfig(a, b bgpconfig.Config) bool {
	return a.String() == b.String() && a.Password == b.Password
}

// Status is what the agent publishes and doctor shows (bgptypes.Status:
// the agent reads it without linking gobgp).
type Status = bgptypes.Status

// Status reads the speaker's sessions now.
func (m *Manager) Status(ctx context.Context) (Status, error) {
	m.mu.Lock()
	sp := m.sp
	m.mu.Unlock()
	if sp == nil {
		return Status{}, nil
	}
	st := Status{Enabled: true, Announced: sp.Announced()}
	var err error
	if st.Sessions, err = sp.Sessions(ctx); err != nil {
		return st, err
	}
	for _, s := range st.Sessions {
		if s.Established() && s.PrefixesSent > 0 {
			st.Announcing = true
		}
	}
	return st, nil
}

// Learnt is the speaker's learnt routes (nil without a speaker or import).
func (m *Manager) Learnt(ctx context.Context) ([]bgptypes.Route, error) {
	m.mu.Lock()
	sp := m.sp
	m.mu.Unlock()
	if sp == nil {
		return nil, nil
	}
	return sp.Learnt(ctx)
}

// Speaker is the running speaker, or nil (for the metrics collector).
func (m *Manager) Speaker() *Speaker {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sp
}

// Shutdown is the agent exiting: with graceful restart the sessions are
// abandoned to the process exit (the router keeps the routes), without it
// they are closed (the router withdraws them at once, rather than after
// the hold time).
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sp == nil {
		return nil
	}
	sp := m.sp
	m.sp = nil
	if m.cfg.GracefulRestart {
		sp.Abandon()
		return nil
	}
	return errors.Join(sp.Close(ctx))
}

// ForAgent is the node agent's speaker (agent.NewSpeaker): a Manager that
// calls onSession on every session state change and onLearnt when a peer
// sent routes, and the collector of its metrics. The agent takes it as a
// dependency because gobgp links netlink and the controller links none.
func ForAgent(log *slog.Logger, onSession func(bgptypes.Session), onLearnt func()) (*Manager, *Collector) {
	m := NewManager(log, onSession)
	m.OnLearnt(onLearnt)
	return m, NewCollector(m.Speaker)
}
