package firewall

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// TableName is our nftables table (family inet).
const TableName = "oo-filter"

// Chain names and their priority: before the distribution's and
// kube-proxy's filter chains (priority 0), so a stranger's datagram is
// dropped before anything else spends time on it.
const (
	chainInput   = "input"
	chainForward = "forward"
	priority     = -10
)

// Rule tags (nft comments): Counts finds the rules by them, and Ensure
// rebuilds the chains only when the tags (which carry the port) differ,
// so counters survive peer changes.
const (
	tagStrangers = "oo: vxlan from a non-peer"
	tagPods      = "oo: vxlan from a local pod"
)

func table() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: TableName}
}

// sets are the table's four sets of one family.
type sets struct{ peers, localPods, pods *nftables.Set }

func newSets(t *nftables.Table, f family) sets {
	key := nftables.TypeIPAddr
	if f.v6 {
		key = nftables.TypeIP6Addr
	}
	return sets{
		peers:     &nftables.Set{Table: t, Name: "peers" + f.name, KeyType: key},
		localPods: &nftables.Set{Table: t, Name: "localpods" + f.name, KeyType: key, Interval: true},
		pods:      &nftables.Set{Table: t, Name: "pods" + f.name, KeyType: key, Interval: true},
	}
}

// Ensure makes the table match cfg in the current network namespace, in
// one atomic netlink batch: the sets' contents are replaced, the chains
// rebuilt only when their rules differ.
// Equivalent to `nft -f` with the table in the package comment.
func Ensure(cfg Config) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("opening nftables: %w", err)
	}
	t := c.AddTable(table())
	var input, forward []*nftables.Rule
	for _, f := range families {
		s := newSets(t, f)
		if err := fillSets(c, f, s, cfg); err != nil {
			return err
		}
		input = append(input, strangerRule(f, s, cfg.Port))
		forward = append(forward, podRule(f, s, cfg.Port))
	}
	for _, ch := range []struct {
		name  string
		hook  *nftables.ChainHook
		rules []*nftables.Rule
	}{{chainInput, nftables.ChainHookInput, input}, {chainForward, nftables.ChainHookForward, forward}} {
		if err := ensureChain(c, t, ch.name, ch.hook, ch.rules); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("applying nftables table %s: %w", TableName, err)
	}
	return nil
}

// fillSets creates the family's sets when absent and replaces their
// elements (flush + add in the same batch).
func fillSets(c *nftables.Conn, f family, s sets, cfg Config) error {
	for _, x := range []struct {
		set   *nftables.Set
		elems []nftables.SetElement
	}{
		{s.peers, addrElements(f.addrs(cfg.Peers))},
		{s.localPods, spanElements(f.spans(cfg.LocalPodCIDRs))},
		{s.pods, spanElements(f.spans(cfg.PodCIDRs))},
	} {
		if err := c.AddSet(x.set, nil); err != nil {
			return fmt.Errorf("nftables set %s: %w", x.set.Name, err)
		}
		c.FlushSet(x.set)
		for elems := range slices.Chunk(x.elems, maxElementsPerMessage) {
			if err := c.SetAddElements(x.set, elems); err != nil {
				return fmt.Errorf("nftables set %s elements: %w", x.set.Name, err)
			}
		}
	}
	return nil
}

// maxElementsPerMessage keeps one message's element list under the 64 KiB
// a netlink attribute length can express (an IPv6 element takes about 36
// bytes): past it the length wraps and the kernel keeps a truncated set,
// silently (5000 addresses in one message left 453 in the set).
const maxElementsPerMessage = 1024

// ensureChain adds the base chain and, when its rules' tags differ from
// want's, replaces its rules.
func ensureChain(c *nftables.Conn, t *nftables.Table, name string, hook *nftables.ChainHook, want []*nftables.Rule) error {
	accept := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{Table: t, Name: name, Type: nftables.ChainTypeFilter,
		Hooknum: hook, Priority: nftables.ChainPriorityRef(priority), Policy: &accept})
	have, err := rulesOf(name)
	if err != nil {
		return err
	}
	if slices.Equal(tags(have), tags(want)) {
		return nil
	}
	c.FlushChain(ch)
	for _, r := range want {
		r.Table, r.Chain = t, ch
		c.AddRule(r)
	}
	return nil
}

// rulesOf lists the rules of our chain name; none when table or chain
// does not exist yet.
func rulesOf(name string) ([]*nftables.Rule, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("opening nftables: %w", err)
	}
	rs, err := c.GetRules(table(), &nftables.Chain{Name: name})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing nftables chain %s %s: %w", TableName, name, err)
	}
	return rs, nil
}

func tags(rs []*nftables.Rule) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		out = append(out, s)
	}
	return out
}

// Cleanup deletes the table; a missing table is success.
// Equivalent to: nft delete table inet oo-filter
func Cleanup() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("opening nftables: %w", err)
	}
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet); err != nil {
		return nil // absent (the library reports ENOENT without wrapping it consistently)
	}
	c.DelTable(table())
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("deleting nftables table %s: %w", TableName, err)
	}
	return nil
}

// Counts are the packets the filter dropped since its chains were built.
type Counts struct {
	// Strangers: datagrams to the VXLAN port from a source that is not a
	// peer node.
	Strangers uint64
	// Pods: datagrams from a local pod to a node's VXLAN port.
	Pods uint64
}

// ReadCounts reads the drop counters of the current network namespace's
// table (zero when there is none).
// Equivalent to: nft list table inet oo-filter
func ReadCounts() (Counts, error) {
	var n Counts
	for _, name := range []string{chainInput, chainForward} {
		rs, err := rulesOf(name)
		if err != nil {
			return n, err
		}
		for _, r := range rs {
			tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			for _, e := range r.Exprs {
				ctr, ok := e.(*expr.Counter)
				if !ok {
					continue
				}
				switch {
				case len(tag) >= len(tagStrangers) && tag[:len(tagStrangers)] == tagStrangers:
					n.Strangers += ctr.Packets
				case len(tag) >= len(tagPods) && tag[:len(tagPods)] == tagPods:
					n.Pods += ctr.Packets
				}
			}
		}
	}
	return n, nil
}
