package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
)

// Doctor runs `offload-overlay-agent doctor -o json` inside node n for one
// peer (nil: no --peer), with the agent's decision flags and state
// directory: doctor then reads the agent's peers file and decides a known
// peer from its published facts and both ends' probe results.
func (l *Lab) Doctor(ctx context.Context, n, peer *Node) (*doctor.Report, error) {
	args := []string{"netns", "exec", n.Netns, l.agentBin(), "doctor", "-o", "json", "--node", n.Name, "--state-dir", n.Dir}
	if peer != nil {
		args = append(args, "--peer", peer.IP(), "--peer-pod-cidr", peer.PodCIDRs[0].String())
	}
	args = append(args, l.decisionFlags()...)
	out, err := exec.CommandContext(ctx, "ip", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("doctor on %s: %w: %s", n.Name, err, ee.Stderr)
		}
		return nil, fmt.Errorf("doctor on %s: %w", n.Name, err)
	}
	var r doctor.Report
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("doctor on %s: parsing JSON: %w", n.Name, err)
	}
	return &r, nil
}

// decisionFlags are the agent flags doctor also takes.
func (l *Lab) decisionFlags() []string {
	var out []string
	for i := 0; i < len(l.cfg.AgentArgs); i++ {
		a := l.cfg.AgentArgs[i]
		for _, f := range []string{"--mode", "--underlay-routes-pod-cidrs", "--allow-nested-encap"} {
			if a == f || strings.HasPrefix(a, f+"=") {
				out = append(out, a)
				if a == "--mode" && i+1 < len(l.cfg.AgentArgs) {
					out = append(out, l.cfg.AgentArgs[i+1])
				}
			}
		}
	}
	return out
}

// KernelMode reads, from node a's kernel, how it sends to ip: "native" when
// the route leaves by the uplink, "vxlan" when by a VXLAN device of the
// overlay, "none" without a route. Equivalent to: `ip -n $a route get $ip`.
func (l *Lab) KernelMode(a *Node, ip string) (mode, dev string, err error) {
	h, err := topo.Handle(a.Netns)
	if err != nil {
		return "", "", err
	}
	defer h.Close()
	routes, err := h.RouteGet(net.ParseIP(ip))
	if err != nil || len(routes) == 0 {
		return "none", "", nil
	}
	link, err := h.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return "", "", fmt.Errorf("%s: link %d: %w", a.Name, routes[0].LinkIndex, err)
	}
	dev = link.Attrs().Name
	switch {
	case dev == a.Uplink:
		return "native", dev, nil
	case link.Type() == "vxlan" && dev == labVXName:
		return "lab-vxlan", dev, nil
	case link.Type() == "vxlan":
		return "vxlan", dev, nil
	case link.Type() == "geneve":
		return "geneve", dev, nil
	}
	return "other", dev, nil
}
