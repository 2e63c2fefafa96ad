package agent

import (
	"net/netip"
	"strconv"
	"sync"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
)

// The agent's memory between syncs, one named layer per fact, each with
// one owner. All but probeBook belong to the worker goroutine (one sync
// at a time); each layer's zero value is empty and ready to use.
//
//	layer          what                                   refreshed
//	admission.Cache parsed Nodes by resourceVersion       per Node change
//	underlayView   routes to peers, rule-3 coverage        every full sync
//	probeBook      native probe results and targets        by the probe loop
//	decisionCache  each pair's decision by its inputs      per input change
//	appliedPaths   the paths last programmed               every program
//	reported       what was last published or written     every publish/report

// underlayView is what the kernel said about the underlay since the last
// full sync: how it reaches each peer node IP (datapath.Kernel.RouteTo) and
// whether the tunnel underlay carries each peer pod CIDR (Kernel.Carries,
// decision rule 3). A full sync (the resync timer, or an underlay route
// change) starts it afresh.
type underlayView struct {
	routes  map[netip.Addr]datapath.Route
	carries map[carriesKey]carried
	// check is the kernel's endpoint check (datapath.Kernel.EndpointChecker,
	// our addresses read once per full sync) and checked its verdicts.
	check   func(netip.Addr) error
	checked map[netip.Addr]error
}

// carriesKey is one coverage lookup: a peer node IP and a pod CIDR of its
// family; carried is the answer.
type carriesKey struct {
	ip   netip.Addr
	cidr netip.Prefix
}

type carried struct{ ok, byDefault bool }

// reset forgets everything (the next lookups ask the kernel, which forgets
// its cached walks and route tables too).
func (u *underlayView) reset(k datapath.Kernel) {
	u.routes, u.carries = map[netip.Addr]datapath.Route{}, map[carriesKey]carried{}
	u.check, u.checked = nil, map[netip.Addr]error{}
	k.ForgetRoutes()
}

// endpointOK is the kernel's verdict on a peer endpoint, asked once per
// full sync. When this node's addresses cannot be read, nothing is refused
// (the kernel still refuses what it cannot program, path by path).
func (u *underlayView) endpointOK(k datapath.Kernel, ip netip.Addr) error {
	if err, ok := u.checked[ip]; ok {
		return err
	}
	if u.check == nil {
		c, err := k.EndpointChecker()
		if err != nil {
			return nil
		}
		u.check = c
	}
	err := u.check(ip)
	u.checked[ip] = err
	return err
}

// empty reports whether nothing was ever looked up (the first sync).
func (u *underlayView) empty() bool { return u.routes == nil }

// routeTo is k.RouteTo(ip), asked once per full sync.
func (u *underlayView) routeTo(k datapath.Kernel, ip netip.Addr) (datapath.Route, error) {
	if r, ok := u.routes[ip]; ok {
		return r, nil
	}
	r, err := k.RouteTo(ip)
	if err != nil {
		return r, err
	}
	u.routes[ip] = r
	return r, nil
}

// carried is k.Carries(ip, c), asked once per full sync (a failed lookup
// is remembered as false; err is only returned when it was asked now).
func (u *underlayView) carried(k datapath.Kernel, ip netip.Addr, c netip.Prefix) (carried, error) {
	key := carriesKey{ip, c}
	if got, cached := u.carries[key]; cached {
		return got, nil
	}
	var got carried
	var err error
	got.ok, got.byDefault, err = k.Carries(ip, c)
	u.carries[key] = got
	return got, err
}

// probeBook is the native probe's shared state: the targets the worker
// hands the probe loop, and the per-peer results the loop hands back
// (published in our facts). It is the only layer two goroutines touch.
type probeBook struct {
	mu      sync.Mutex
	ok      map[string]bool // peer -> every family's probe answered
	targets []probeTarget
	kick    chan struct{} // asks the probe loop for a round now
}

// decisionCache remembers each pair's decision (per peer and family) by
// everything it depends on besides the configuration (decisionKey), so a
// converge after one Node change decides one pair, not all of them.
type decisionCache struct {
	entries map[string]cachedDecision
	// seen marks entries used by the current pass (prune drops the rest).
	seen map[string]bool
}

type cachedDecision struct {
	key decisionKey
	res decision.Result
}

// decide returns the cached result for k, or decide(in) when k changed.
func (c *decisionCache) decide(k decisionKey, in decision.Input, decide func(decision.Input) decision.Result) decision.Result {
	if k.rv == "" { // not from the API (tests): no identity to cache by
		return decide(in)
	}
	if c.entries == nil {
		c.entries, c.seen = map[string]cachedDecision{}, map[string]bool{}
	}
	id := k.peer + "/" + strconv.Itoa(k.fam)
	if e, ok := c.entries[id]; ok && e.key == k {
		c.seen[id] = true
		return e.res
	}
	res := decide(in)
	c.entries[id] = cachedDecision{k, res}
	c.seen[id] = true
	return res
}

// prune drops the decisions of pairs the last pass did not see.
func (c *decisionCache) prune() {
	for id := range c.entries {
		if !c.seen[id] {
			delete(c.entries, id)
		}
	}
	c.seen = map[string]bool{}
}

// appliedPaths are the paths last programmed successfully, by Path.Key:
// an incremental sync programs only the difference from them.
type appliedPaths map[string]datapath.Path

// diff returns what programming want changes: paths to add or change,
// paths to remove, and the applied set once that succeeded.
func (ap appliedPaths) diff(want []datapath.Path) (upsert, remove []datapath.Path, next appliedPaths) {
	next = make(appliedPaths, len(want))
	for _, p := range want {
		next[p.Key()] = p
		if old, ok := ap[p.Key()]; !ok || !old.Equal(p) {
			upsert = append(upsert, p)
		}
	}
	for k, p := range ap {
		if _, ok := next[k]; !ok {
			remove = append(remove, p)
		}
	}
	return upsert, remove, next
}

// reported is what the agent last told the outside world, so a sync
// writes, logs and records only what changed.
type reported struct {
	annotation  string            // our facts as our Node carries them
	state       string            // the state file's content key
	peers       uint64            // the peers file's content key (peerstate.go)
	unreachable map[string]string // path key -> reason of its PeerUnreachable Event
	ignored     map[string]string // node -> reason last logged
	condition   bool              // we set NetworkUnavailable=False
	firewall    string            // the VXLAN filter's input key (firewall.go)
}
