package bgprouter

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// Route is one route in BIRD's table: the prefix, the protocol (neighbour)
// it came from and its next hop.
type Route struct {
	Prefix   netip.Prefix
	Protocol string
	NextHop  netip.Addr
	Stale    bool
}

// Routes reads every route BIRD holds, both families.
// Equivalent to: `birdc -s SOCKET show route all` (parsed).
func (r *Router) Routes(ctx context.Context) ([]Route, error) {
	out, err := r.Birdc(ctx, "show", "route", "all")
	if err != nil {
		return nil, err
	}
	return parseRoutes(out), nil
}

// parseRoutes reads birdc's route listing:
//
//	10.244.1.0/24        unicast [n1 22:37:41.208] * (100) [AS64512i]
//		via 10.201.1.2 on oo-b-n1
//		BGP.next_hop: 10.201.1.2
//	                     unicast [n2 ...]          (a second path of the same prefix)
func parseRoutes(out string) []Route {
	var routes []Route
	var cur netip.Prefix
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if p, err := netip.ParsePrefix(fields[0]); err == nil && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			cur = p
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == "unicast" && strings.HasPrefix(fields[1], "[") && cur.IsValid() {
			routes = append(routes, Route{Prefix: cur, Protocol: strings.TrimPrefix(fields[1], "["), Stale: strings.Contains(line, "stale")})
			continue
		}
		if len(fields) >= 2 && fields[0] == "via" && len(routes) > 0 && routes[len(routes)-1].Prefix == cur {
			routes[len(routes)-1].NextHop, _ = netip.ParseAddr(fields[1])
		}
		if strings.HasPrefix(strings.TrimSpace(line), "BGP.") && strings.Contains(line, "stale") && len(routes) > 0 {
			routes[len(routes)-1].Stale = true
		}
	}
	return routes
}

// Protocols maps each BGP neighbour to its state as BIRD reports it
// ("Established", "Active", "Connect", ...).
// Equivalent to: `birdc -s SOCKET show protocols`.
func (r *Router) Protocols(ctx context.Context) (map[string]string, error) {
	out, err := r.Birdc(ctx, "show", "protocols")
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "BGP" {
			states[f[0]] = f[5]
		}
	}
	return states, nil
}

// KernelRoutes are the routes BIRD installed in the router namespace's
// kernel (the forwarding truth). Equivalent to: `ip -n NS route show proto bird`.
func (r *Router) KernelRoutes(ctx context.Context) (map[netip.Prefix]netip.Addr, error) {
	out := map[netip.Prefix]netip.Addr{}
	for _, fam := range []string{"-4", "-6"} {
		b, err := exec.CommandContext(ctx, "ip", fam, "-n", r.cfg.Netns, "route", "show", "proto", "bird").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("ip route show proto bird in %s: %w: %s", r.cfg.Netns, err, b)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 || f[1] != "via" {
				continue
			}
			p, err1 := netip.ParsePrefix(f[0])
			nh, err2 := netip.ParseAddr(f[2])
			if err1 == nil && err2 == nil {
				out[p] = nh
			}
		}
	}
	return out, nil
}
