package topofuzz_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/lab"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/e2e/topofuzz"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// TestTopologyFuzz builds each seed's cluster in throwaway namespaces, runs
// the real agents against a real kube-apiserver, creates one pod per node
// with the real plugin, and checks the agents against the oracle: every
// pair the network connects passes ICMP and TCP both ways and a DF ping at
// the pod MTU; no pair nests tunnels; both ends report the same mode; an
// unreachable pair is one the network cannot connect, and its reason names
// a remedy; teardown leaves nothing. The hub/edge topology always
// runs as a fixed case.
func TestTopologyFuzz(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	k8senv.RequireBinaries(t, "kube-apiserver")
	seeds, err := topofuzz.Seeds()
	if err != nil {
		t.Fatal(err)
	}
	cases := []topofuzz.Case{{Seed: 0, Spec: topofuzz.HubEdge(), Families: topofuzz.DualStack, ClusterCIDRs: []string{"10.244.0.0/16", "fd44::/48"}}}
	for _, s := range seeds {
		cases = append(cases, topofuzz.Generate(s, topofuzz.Prefix, topofuzz.Site))
	}
	failed := 0
	for _, c := range cases {
		name := fmt.Sprintf("seed=%d", c.Seed)
		if c.Seed == 0 {
			name = "hub-edge"
		}
		ok := t.Run(name, func(t *testing.T) { runCase(t, c) })
		if !ok {
			failed++
		}
	}
	t.Logf("%d topologies, %d failed", len(cases), failed)
}

func runCase(t *testing.T, c topofuzz.Case) {
	c.Spec.Prefix, c.Spec.Site = topofuzz.Prefix, topofuzz.Site
	t.Logf("%s", c)
	keep := os.Getenv("OO_FUZZ_KEEP") != ""
	lab.TB = t
	defer func() { lab.TB = nil }()
	l, err := lab.Up(context.Background(), lab.Config{Spec: c.Spec, ClusterCIDRs: c.ClusterCIDRs, PodsPerNode: 1, Progress: t.Logf})
	if err != nil {
		t.Fatalf("lab up: %v\n%s", err, topofuzz.Repro(c.Seed))
	}
	defer func() {
		if t.Failed() {
			t.Logf("failing topology:\n%s%s", c, topofuzz.Repro(c.Seed))
			if keep {
				t.Logf("OO_FUZZ_KEEP: the cluster stays up (namespaces %s*); remove it with: go run ./e2e/topo/cmd/oo-topo down --prefix %s", topofuzz.Prefix, topofuzz.Prefix)
				select {} // hold the lab (and its API server) until interrupted
			}
		}
		if err := l.Down(); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if left, err := topo.Leftovers(topofuzz.Prefix); err != nil || len(left) > 0 {
			t.Errorf("teardown left %v (%v)", left, err)
		}
	}()
	verdicts := topofuzz.Connect(c.Spec)
	modes := waitAgreement(t, l, verdicts, families(c))
	for _, a := range l.Nodes {
		for _, b := range l.Nodes {
			if a.Name >= b.Name {
				continue
			}
			v := verdicts[topofuzz.PairKey(a.Name, b.Name)]
			for _, fam := range families(c) {
				checkPair(t, l, a, b, fam, v, modes)
			}
		}
	}
}

func families(c topofuzz.Case) []int {
	switch c.Families {
	case topofuzz.IPv4Only:
		return []int{4}
	case topofuzz.IPv6Only:
		return []int{6}
	}
	return []int{4, 6}
}

// pathOf is one node's recorded decision towards a peer for a family.
type pathOf struct {
	mode    decision.Mode
	rule    int
	mtu     int
	reasons []string
}

// modes maps "a>b/fam" to a's recorded path towards b.
type modes map[string]pathOf

func key(a, b string, fam int) string { return fmt.Sprintf("%s>%s/%d", a, b, fam) }

// readModes reads every agent's peers file.
func readModes(l *lab.Lab) modes {
	out := modes{}
	for _, n := range l.Nodes {
		f, err := peerstate.Read(n.Dir)
		if err != nil {
			continue
		}
		for _, p := range f.Peers {
			for _, pa := range p.Paths {
				out[key(n.Name, p.Name, pa.Family)] = pathOf{pa.Mode, pa.Rule, pa.MTU, pa.Reasons}
			}
		}
	}
	return out
}

// waitAgreement waits (native probes settle within seconds) until every
// pair's modes match the oracle's connectability on both ends, or 40s.
func waitAgreement(t *testing.T, l *lab.Lab, vs map[string]topofuzz.Verdict, fams []int) modes {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		m := readModes(l)
		settled := true
		for _, a := range l.Nodes {
			for _, b := range l.Nodes {
				if a == b {
					continue
				}
				for _, fam := range fams {
					p, ok := m[key(a.Name, b.Name, fam)]
					want := vs[topofuzz.PairKey(a.Name, b.Name)].Connect
					if !ok || (p.mode != decision.ModeUnreachable) != want {
						settled = false
					}
				}
			}
		}
		if settled || time.Now().After(deadline) {
			return m
		}
		time.Sleep(time.Second)
	}
}

func checkPair(t *testing.T, l *lab.Lab, a, b *lab.Node, fam int, v topofuzz.Verdict, m modes) {
	t.Helper()
	ab, okA := m[key(a.Name, b.Name, fam)]
	ba, okB := m[key(b.Name, a.Name, fam)]
	pair := fmt.Sprintf("%s<->%s IPv%d", a.Name, b.Name, fam)
	if !okA || !okB {
		t.Errorf("%s: a peers file lacks the pair (%v %v)\n  oracle: %s", pair, okA, okB, v.Why)
		return
	}
	if ab.mode != ba.mode || ab.rule != ba.rule {
		t.Errorf("%s: the ends disagree: %s rule %d vs %s rule %d\n  %s: %s\n  %s: %s\n  oracle: %s", pair, ab.mode, ab.rule, ba.mode, ba.rule,
			a.Name, strings.Join(ab.reasons, "; "), b.Name, strings.Join(ba.reasons, "; "), v.Why)
	}
	if (ab.mode == decision.ModeVXLAN || ab.mode == decision.ModeGeneve) && v.Tunnel {
		t.Errorf("%s: %s on a path with a tunnel: nested tunnels\n  oracle: %s", pair, ab.mode, v.Why)
	}
	if !v.Connect {
		if ab.mode != decision.ModeUnreachable {
			t.Errorf("%s: the network cannot connect this pair without nesting, but the agents program %s (rule %d): %s\n  oracle: %s",
				pair, ab.mode, ab.rule, strings.Join(ab.reasons, "; "), v.Why)
		} else if !strings.Contains(strings.Join(ab.reasons, " "), "remedy") {
			t.Errorf("%s: unreachable without a remedy: %s", pair, strings.Join(ab.reasons, "; "))
		}
		return
	}
	if ab.mode == decision.ModeUnreachable {
		t.Errorf("%s: the network connects this pair but the agents report it unreachable (rule %d): %s\n  oracle: %s",
			pair, ab.rule, strings.Join(ab.reasons, "; "), v.Why)
		return
	}
	pa, pb := l.PodsOn(a.Name)[0], l.PodsOn(b.Name)[0]
	mtu, err := pairMTU(pa, pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := traffic(pa, pb, fam, mtu); err != nil {
		t.Errorf("%s (%s rule %d): %v\n  oracle: %s", pair, ab.mode, ab.rule, err, v.Why)
	}
	if err := traffic(pb, pa, fam, mtu); err != nil {
		t.Errorf("%s (%s rule %d): %v\n  oracle: %s", pair, ba.mode, ba.rule, err, v.Why)
	}
}

// pairMTU is the smaller pod MTU of the two ends: a receiver's veth bounds
// the path (the sender learns it by PMTU discovery: no black hole).
func pairMTU(a, b *lab.Pod) (int, error) {
	ma, err := lab.PodMTU(a)
	if err != nil {
		return 0, err
	}
	mb, err := lab.PodMTU(b)
	if err != nil {
		return 0, err
	}
	return min(ma, mb), nil
}

// traffic checks from one pod to another: ICMP, a TCP transfer, and a DF
// ping that fills the pair's pod MTU.
func traffic(from, to *lab.Pod, fam, mtu int) error {
	dst, hdr := to.IPv4, 28
	if fam == 6 {
		dst, hdr = to.IPv6, 48
	}
	if err := lab.Ping(from.Netns, dst, 0); err != nil {
		return fmt.Errorf("ping %s -> %s: %w", from.Name, dst, err)
	}
	const port, size = 8082, 1 << 20
	s, err := lab.ServeTCP(to.Netns, port, size)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := lab.DialTCP(context.Background(), from.Netns, dst, port, size, 10*time.Second); err != nil {
		return err
	}
	if err := lab.Ping(from.Netns, dst, mtu-hdr); err != nil {
		return fmt.Errorf("DF ping at pod MTU %d %s -> %s: %w", mtu, from.Name, dst, err)
	}
	return nil
}
