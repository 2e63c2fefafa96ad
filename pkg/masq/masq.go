package masq

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/coreos/go-iptables/iptables"
)

const (
	// Chain is our chain in the nat table of both families.
	Chain = "OO-MASQ"
	table = "nat"
	// jumpComment marks the jump from POSTROUTING.
	jumpComment = "offload-overlay: pod egress masquerade"
)

// Config is the desired masquerade.
type Config struct {
	// PodCIDRs are this node's pod CIDRs (spec.podCIDRs): the sources to
	// masquerade. A family without one gets no rules.
	PodCIDRs []netip.Prefix
	// ClusterCIDRs are every pod CIDR of the cluster (--cluster-cidr):
	// destinations never masqueraded. A family without one gets no rules:
	// without it other nodes' pods cannot be told from the internet, and
	// pod-to-pod traffic must never be masqueraded (MissingClusterCIDR
	// names such families so the agent can say so).
	ClusterCIDRs []netip.Prefix
}

func protocol(v6 bool) iptables.Protocol {
	if v6 {
		return iptables.ProtocolIPv6
	}
	return iptables.ProtocolIPv4
}

func ofFamily(ps []netip.Prefix, v6 bool) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.IsValid() && p.Addr().Is6() == v6 && !p.Addr().Is4In6() {
			out = append(out, p.Masked())
		}
	}
	return out
}

// Ensure installs the masquerade rules of cfg, for each family that has a
// pod CIDR, and removes them from a family that has none.
// Equivalent to the iptables/ip6tables commands in the package comment.
func Ensure(cfg Config) error {
	var errs []error
	for _, v6 := range []bool{false, true} {
		pods := ofFamily(cfg.PodCIDRs, v6)
		ipt, err := iptables.New(iptables.IPFamily(protocol(v6)))
		if err != nil {
			if len(pods) > 0 {
				errs = append(errs, fmt.Errorf("iptables (%s): %w", name(protocol(v6)), err))
			}
			continue
		}
		if len(pods) == 0 {
			errs = append(errs, cleanup(ipt))
			continue
		}
		cluster := ofFamily(cfg.ClusterCIDRs, v6)
		if len(cluster) == 0 {
			errs = append(errs, cleanup(ipt))
			continue
		}
		errs = append(errs, ensureFamily(ipt, rules(ipt, pods, cluster)))
	}
	return errors.Join(errs...)
}

// MissingClusterCIDR lists the families ("IPv4", "IPv6") that have a pod
// CIDR but no cluster CIDR in cfg: Ensure masquerades nothing there.
func MissingClusterCIDR(cfg Config) []string {
	var out []string
	for _, v6 := range []bool{false, true} {
		if len(ofFamily(cfg.PodCIDRs, v6)) > 0 && len(ofFamily(cfg.ClusterCIDRs, v6)) == 0 {
			out = append(out, map[bool]string{false: "IPv4", true: "IPv6"}[v6])
		}
	}
	return out
}

// rules are the contents of Chain, in order.
func rules(ipt *iptables.IPTables, pods, cluster []netip.Prefix) [][]string {
	var rs [][]string
	for _, c := range cluster {
		rs = append(rs, []string{"-d", c.String(), "-j", "RETURN"})
	}
	for _, p := range pods {
		r := []string{"-s", p.String(), "-j", "MASQUERADE"}
		if ipt.HasRandomFully() {
			r = append(r, "--random-fully")
		}
		rs = append(rs, r)
	}
	return rs
}

// ensureFamily repairs whatever differs: a missing or wrong chain is
// rebuilt atomically (replaceChain), a missing jump appended. The jump
// goes in only after the chain is complete, so traffic never meets a
// partial chain.
func ensureFamily(ipt *iptables.IPTables, want [][]string) error {
	fam := name(ipt.Proto())
	exists, err := ipt.ChainExists(table, Chain)
	if err != nil {
		return fmt.Errorf("%s: checking chain %s: %w", fam, Chain, err)
	}
	same := false
	if exists {
		if same, err = chainHas(ipt, want); err != nil {
			return err
		}
	}
	if !same {
		if err := replaceChain(ipt, want); err != nil {
			return err
		}
	}
	if err := ipt.AppendUnique(table, "POSTROUTING", jump()...); err != nil {
		return fmt.Errorf("%s: adding jump to %s: %w", fam, Chain, err)
	}
	return nil
}

// chainHas says whether Chain holds exactly the rules want (each present,
// no other rule).
func chainHas(ipt *iptables.IPTables, want [][]string) (bool, error) {
	have, err := ipt.List(table, Chain)
	if err != nil {
		return false, fmt.Errorf("%s: listing %s: %w", name(ipt.Proto()), Chain, err)
	}
	if len(have) != len(want)+1 { // +1: the "-N OO-MASQ" line
		return false, nil
	}
	for _, r := range want {
		ok, err := ipt.Exists(table, Chain, r...)
		if err != nil {
			return false, fmt.Errorf("%s: checking %v: %w", name(ipt.Proto()), r, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func jump() []string {
	return []string{"-m", "comment", "--comment", jumpComment, "-j", Chain}
}

// Cleanup removes the jump and the chain in both families; missing pieces
// (or a missing ip6tables) are success.
// Equivalent to: iptables -t nat -D POSTROUTING ... -j OO-MASQ; iptables -t nat -F OO-MASQ; iptables -t nat -X OO-MASQ
func Cleanup() error {
	var errs []error
	for _, v6 := range []bool{false, true} {
		ipt, err := iptables.New(iptables.IPFamily(protocol(v6)))
		if err != nil {
			continue // no binary for this family: nothing of ours there
		}
		errs = append(errs, cleanup(ipt))
	}
	return errors.Join(errs...)
}

func cleanup(ipt *iptables.IPTables) error {
	exists, err := ipt.ChainExists(table, Chain)
	if err != nil {
		return fmt.Errorf("%s: checking chain %s: %w", name(ipt.Proto()), Chain, err)
	}
	if !exists {
		return nil
	}
	if err := ipt.DeleteIfExists(table, "POSTROUTING", jump()...); err != nil {
		return fmt.Errorf("%s: deleting jump to %s: %w", name(ipt.Proto()), Chain, err)
	}
	if err := ipt.ClearAndDeleteChain(table, Chain); err != nil {
		return fmt.Errorf("%s: deleting chain %s: %w", name(ipt.Proto()), Chain, err)
	}
	return nil
}

func name(p iptables.Protocol) string {
	if p == iptables.ProtocolIPv6 {
		return "ip6tables"
	}
	return "iptables"
}
