package admission

import (
	corev1 "k8s.io/api/core/v1"
)

// Cache remembers parsed nodes by resourceVersion, so a converge after
// one Node change parses one annotation, not all of them. Used only by the
// worker goroutine.
type Cache struct {
	entries map[string]cachedPeer
	seen    map[string]bool
}

type cachedPeer struct {
	rv   string
	peer Peer
	err  error
}

func NewCache() *Cache { return &Cache{entries: map[string]cachedPeer{}} }

// Parse returns the package-level Parse(n), from the cache when n is unchanged.
func (c *Cache) Parse(n *corev1.Node) (Peer, error) {
	c.seen[n.Name] = true
	if e, ok := c.entries[n.Name]; ok && e.rv == n.ResourceVersion && n.ResourceVersion != "" {
		return e.peer, e.err
	}
	p, err := Parse(n)
	c.entries[n.Name] = cachedPeer{n.ResourceVersion, p, err}
	return p, err
}

// Begin starts a pass; End drops nodes the pass did not see (deleted).
func (c *Cache) Begin() { c.seen = map[string]bool{} }

func (c *Cache) End() {
	for name := range c.entries {
		if !c.seen[name] {
			delete(c.entries, name)
		}
	}
}
