package peers

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
)

// Converger keeps the kernel's per-peer datapath equal to a desired set of
// peers. It is safe for concurrent use. The peers it is given are already
// admitted (pkg/admission: no two share or overlap a pod CIDR or share a
// VTEP MAC of one family): it programs them and does not decide which of
// two colliding peers wins.
type Converger struct {
	mu     sync.Mutex
	k      *kernel
	links  Links
	peers  map[string]Peer   // desired peers by name
	want   map[key]entry     // desired kernel objects (union of all peers)
	owner  map[key]string    // which peer wants each object
	byPeer map[string][]key  // objects each placed peer wants
	skip   map[string]string // peers (partly) not programmed, and why
	failed map[string]string // peers the kernel refused at the last attempt
	have   map[key]entry     // our objects in the kernel, as last read or written
	loaded bool              // have was read from the kernel
}

// New returns a Converger programming through h (nil: the calling thread's
// network namespace) on links. It reads nothing until the first Apply,
// ApplyPeer or Resync, which adopts whatever an earlier agent left in the
// kernel instead of flushing it.
func New(h *netlink.Handle, links Links) *Converger {
	if h == nil {
		h = &netlink.Handle{}
	}
	c := &Converger{k: &kernel{h: h}, links: links, failed: map[string]string{}}
	c.reset()
	return c
}

func (c *Converger) reset() {
	c.want = make(map[key]entry)
	c.owner = make(map[key]string)
	c.byPeer = make(map[string][]key)
	c.skip = make(map[string]string)
	if c.peers == nil {
		c.peers = make(map[string]Peer)
	}
}

// Stats returns the cumulative netlink call counts.
func (c *Converger) Stats() Stats {
	return Stats{Writes: c.k.writes.Load(), Reads: c.k.reads.Load(), NetlinkTime: time.Duration(c.k.nanos.Load())}
}

// Apply converges the kernel to exactly peers: objects of peers not in the
// list are removed, unchanged peers cost no netlink call. peers must be
// admitted (see Converger): collisions are not arbitrated here.
func (c *Converger) Apply(peers []Peer) (Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s0 := c.Stats()
	if err := c.load(); err != nil {
		return c.report(s0), err
	}
	next := make(map[string]Peer, len(peers))
	for _, p := range peers {
		if _, dup := next[p.Name]; dup {
			return c.report(s0), fmt.Errorf("peer %q listed twice", p.Name)
		}
		next[p.Name] = p
	}
	c.peers = next
	c.placeAll()
	err := c.reconcile(c.allKeys())
	return c.report(s0), err
}

// ApplyPeer converges one peer (added or changed), leaving every other
// peer's objects alone: O(1) netlink calls.
func (c *Converger) ApplyPeer(p Peer) (Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s0 := c.Stats()
	if err := c.load(); err != nil {
		return c.report(s0), err
	}
	old := c.unplace(p.Name)
	c.peers[p.Name] = p
	c.place(p)
	err := c.reconcile(append(old, c.byPeer[p.Name]...))
	return c.report(s0), err
}

// RemovePeer removes one peer's routes, neighbours and FDB entries.
func (c *Converger) RemovePeer(name string) (Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s0 := c.Stats()
	if err := c.load(); err != nil {
		return c.report(s0), err
	}
	keys := c.unplace(name)
	delete(c.peers, name)
	err := c.reconcile(keys)
	return c.report(s0), err
}

// Resync re-reads our objects from the kernel and repairs any drift (missing,
// changed or extra entries) without flushing: only differences are written.
func (c *Converger) Resync() (Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s0 := c.Stats()
	c.loaded = false
	if err := c.load(); err != nil {
		return c.report(s0), err
	}
	err := c.reconcile(c.allKeys())
	return c.report(s0), err
}

// SetLinks changes the devices programmed on (e.g. a tunnel device was
// recreated with a new ifindex) and resyncs everything against the kernel.
func (c *Converger) SetLinks(l Links) (Report, error) {
	c.mu.Lock()
	c.links = l
	c.placeAll()
	c.mu.Unlock()
	return c.Resync()
}

// load reads the kernel once (adoption).
func (c *Converger) load() error {
	if c.loaded {
		return nil
	}
	var devs []int
	for _, d := range []int{c.links.VXLAN4, c.links.VXLAN6} {
		if d != 0 {
			devs = append(devs, d)
		}
	}
	have, err := c.k.read(devs)
	if err != nil {
		return fmt.Errorf("reading datapath: %w", err)
	}
	c.have, c.loaded = have, true
	return nil
}

func (c *Converger) report(s0 Stats) Report {
	s := c.Stats()
	r := Report{Writes: int(s.Writes - s0.Writes), Reads: int(s.Reads - s0.Reads), NetlinkTime: s.NetlinkTime - s0.NetlinkTime}
	if len(c.skip) > 0 {
		r.Skipped = maps.Clone(c.skip)
	}
	for name := range c.failed {
		if _, ok := c.peers[name]; !ok {
			delete(c.failed, name) // removed since
		}
	}
	if len(c.failed) > 0 {
		r.Failed = maps.Clone(c.failed)
	}
	return r
}

func (c *Converger) allKeys() []key {
	keys := make([]key, 0, len(c.want)+len(c.have))
	for k := range c.want {
		keys = append(keys, k)
	}
	for k := range c.have {
		if _, ok := c.want[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// placeAll recomputes the desired objects of every peer, in name order.
func (c *Converger) placeAll() {
	c.reset()
	for _, name := range slices.Sorted(maps.Keys(c.peers)) {
		c.place(c.peers[name])
	}
}

// place adds p's objects to the desired set. What p cannot have (no
// endpoint or tunnel device of a family, Geneve) is recorded in skip.
func (c *Converger) place(p Peer) {
	entries, err := peerEntries(p, c.links)
	if err != nil {
		c.skip[p.Name] = err.Error()
	}
	keys := make([]key, 0, len(entries))
	for _, e := range entries {
		k := e.key()
		c.want[k], c.owner[k] = e, p.Name
		keys = append(keys, k)
	}
	c.byPeer[p.Name] = keys
}

// unplace removes a peer's objects from the desired set and returns their keys.
func (c *Converger) unplace(name string) []key {
	keys := c.byPeer[name]
	for _, k := range keys {
		if c.owner[k] == name {
			delete(c.want, k)
			delete(c.owner, k)
		}
	}
	delete(c.byPeer, name)
	delete(c.skip, name)
	return keys
}

// reconcile writes the differences between want and have for keys, in an
// order that never leaves a route without its neighbour and FDB entry.
func (c *Converger) reconcile(keys []key) error {
	var ups, dels [3][]entry // indexed by kind
	seen := make(map[key]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		w, wok := c.want[k]
		h, hok := c.have[k]
		switch {
		case wok && (!hok || !matches(w, h)):
			ups[k.kind] = append(ups[k.kind], w)
		case !wok && hok:
			dels[k.kind] = append(dels[k.kind], h)
		}
	}
	var errs []error
	// Every peer with an object to write starts clean; the first refused
	// object fails its peer, whose later objects are not written (a route
	// without its neighbour and FDB entry would black-hole the pod CIDR).
	failed := map[string]bool{}
	for _, list := range ups {
		for _, e := range list {
			delete(c.failed, c.owner[e.key()])
		}
	}
	do := func(list []entry, add bool) {
		for _, e := range list {
			if add {
				owner := c.owner[e.key()]
				if failed[owner] {
					continue
				}
				err := c.moveRoute(e)
				if err == nil {
					err = c.k.upsert(e)
				}
				if err != nil {
					failed[owner] = true
					c.failed[owner] = err.Error()
					errs = append(errs, &PeerError{Peer: owner, Err: err})
					continue
				}
				c.have[e.key()] = e
			} else {
				if err := c.k.remove(e); err != nil {
					errs = append(errs, err)
					continue
				}
				delete(c.have, e.key())
			}
		}
	}
	do(ups[kindFDB], true)
	do(ups[kindNeigh], true)
	do(ups[kindRoute], true)
	do(dels[kindRoute], false)
	do(dels[kindNeigh], false)
	do(dels[kindFDB], false)
	return errors.Join(errs...)
}

// moveRoute deletes an IPv6 route that is about to move to another device
// (a peer switching between native and VXLAN). IPv6 refuses to replace it in
// place: the new onlink gateway (the VTEP address inside the peer's pod
// CIDR) is covered by the old route via the other device, which the kernel
// rejects as "Nexthop has invalid gateway or device mismatch" (EINVAL).
// IPv4 replaces in place, so it keeps the route without a gap.
func (c *Converger) moveRoute(e entry) error {
	h, ok := c.have[e.key()]
	if e.kind != kindRoute || !ok || e.dst.Addr().Is4() || e.link == h.link || e.link == 0 {
		return nil
	}
	if err := c.k.remove(h); err != nil {
		return err
	}
	delete(c.have, h.key())
	return nil
}
