package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
)

// ReasonBGP is decision rule 2's reason for a pair whose pod CIDRs the
// fabric learnt over BGP from both ends and whose native probes passed.
const ReasonBGP = "both pod CIDRs announced over BGP, probe verified"

// CheckRouterLearnt reads the router itself: BIRD holds every node's pod
// CIDR from that node's session with the node IP as next hop (`birdc show
// route all`), and the router namespace's kernel forwards each pod CIDR by
// BIRD's route only (`ip route show proto bird`; no static route beside it).
func CheckRouterLearnt(t *testing.T, c *Cluster, f *BGPFabric) {
	ctx := context.Background()
	err := waitFor(60*time.Second, func() error {
		var missing []string
		routes, err := f.Router.Routes(ctx)
		if err != nil {
			return err
		}
		kernel, err := f.Router.KernelRoutes(ctx)
		if err != nil {
			return err
		}
		for _, n := range c.Nodes {
			cidrs, err := c.PodCIDRs(n.Name)
			if err != nil {
				return err
			}
			nh := netip.MustParseAddr(n.IP)
			for _, s := range cidrs {
				p := netip.MustParsePrefix(s)
				learnt := false
				for _, r := range routes {
					learnt = learnt || (r.Prefix == p && r.Protocol == RouterProtocol(n) && r.NextHop == nh)
				}
				if !learnt {
					missing = append(missing, fmt.Sprintf("birdc: no %s from %s via %s", p, RouterProtocol(n), nh))
				}
				if kernel[p] != nh {
					missing = append(missing, fmt.Sprintf("router kernel: %s via %v (proto bird), want via %s", p, kernel[p], nh))
				}
			}
		}
		if len(missing) > 0 {
			return errors.New(strings.Join(missing, "; "))
		}
		return nil
	})
	if err != nil {
		out, _ := f.Router.Birdc(ctx, "show", "protocols")
		t.Fatalf("the router did not learn every pod CIDR: %v\n%s\nBIRD log:\n%s", err, out, tail(f.Router.Log(), 20))
	}
	show, _ := f.Router.Birdc(ctx, "show", "route")
	t.Logf("birdc show route:\n%s", strings.TrimSpace(show))
	for _, n := range c.Nodes {
		cidrs, _ := c.PodCIDRs(n.Name)
		for _, s := range cidrs {
			out, err := exec.Command("ip", "-n", c.Topo.Router, "route", "show", "exact", s).CombinedOutput()
			if err != nil {
				t.Errorf("ip -n %s route show exact %s: %v: %s", c.Topo.Router, s, err, out)
				continue
			}
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if !strings.Contains(l, "proto bird") {
					t.Errorf("router kernel: %s %q is not BIRD's: the fabric must know pod CIDRs only from BGP", s, l)
				}
			}
		}
	}
}

// CheckBGPNative: for every ordered pair of nodes, doctor in the agent pod
// decides native by rule 2 from the agent's peers file with the reason
// ReasonBGP, and shows every BGP session established.
func CheckBGPNative(t *testing.T, c *Cluster) {
	for _, a := range c.Nodes {
		for _, b := range c.Nodes {
			if a == b {
				continue
			}
			var r *doctor.Report
			err := waitFor(60*time.Second, func() error {
				var err error
				if r, err = c.DoctorReport(a, b); err != nil {
					return err
				}
				return bgpNativeProblem(r)
			})
			if err != nil {
				t.Errorf("%s -> %s: %v", a.Name, b.Name, err)
				continue
			}
			s := r.BGP.Sessions[0]
			t.Logf("%s -> %s: %s rule %d (%s); BGP session %s AS %d %s, prefixes sent %d", a.Name, b.Name, r.Decision.Mode, r.Decision.Rule,
				r.Decision.Reasons[0], s.Peer, s.PeerAS, s.State, s.PrefixesSent)
		}
	}
}

// bgpNativeProblem says what keeps a doctor report from showing a pair
// made native by BGP ("" : nothing).
func bgpNativeProblem(r *doctor.Report) error {
	d := r.Decision
	switch {
	case d.Source != doctor.SourceAgentState:
		return fmt.Errorf("doctor decided from %s, not the agent's peers file", d.Source)
	case d.Mode != decision.ModeNative || d.Rule != 2 || !strings.Contains(strings.Join(d.Reasons, "\n"), ReasonBGP):
		return fmt.Errorf("doctor: %s rule %d: %s; want native rule 2 with %q", d.Mode, d.Rule, strings.Join(d.Reasons, "; "), ReasonBGP)
	case r.BGP == nil || len(r.BGP.Sessions) == 0:
		return errors.New("doctor shows no BGP session")
	}
	for _, s := range r.BGP.Sessions {
		if !s.Established() || s.PrefixesSent == 0 {
			return fmt.Errorf("doctor: BGP session with %s %s, prefixes sent %d", s.Peer, s.State, s.PrefixesSent)
		}
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CheckLearntListed: with --bgp-import, doctor in every agent pod lists the
// routes the router originated, accepted when inside the cluster CIDR
// (accept) and rejected with the rule otherwise (reject).
func CheckLearntListed(t *testing.T, c *Cluster, accept, reject netip.Prefix) {
	for i, a := range c.Nodes {
		b := c.Nodes[(i+1)%len(c.Nodes)]
		var r *doctor.Report
		err := waitFor(30*time.Second, func() error {
			var err error
			if r, err = c.DoctorReport(a, b); err != nil {
				return err
			}
			if r.BGP == nil {
				return errors.New("doctor shows no BGP section")
			}
			var ok, refused bool
			for _, rt := range r.BGP.Learnt {
				ok = ok || rt.Prefix == accept
			}
			for _, rj := range r.BGP.Rejected {
				refused = refused || (rj.Prefix == reject && strings.Contains(rj.Reason, "outside the cluster CIDRs"))
			}
			if !ok || !refused {
				return fmt.Errorf("doctor's bgp.learnt %+v, bgp.rejected %+v: want %s accepted and %s rejected as outside the cluster CIDRs",
					r.BGP.Learnt, r.BGP.Rejected, accept, reject)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", a.Name, err)
			continue
		}
		var acc, rej []string
		for _, rt := range r.BGP.Learnt {
			acc = append(acc, rt.Prefix.String())
		}
		for _, rj := range r.BGP.Rejected {
			rej = append(rej, rj.Prefix.String()+" ("+rj.Reason+")")
		}
		t.Logf("%s: doctor lists learnt routes accepted: %s; rejected: %s", a.Name, strings.Join(acc, ", "), strings.Join(rej, ", "))
	}
}
