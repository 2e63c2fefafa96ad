package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// Pod is one pod: a network namespace set up by the CNI plugin.
type Pod struct {
	Name, Node string
	// Netns is the pod's namespace name (ip netns), prefix+node+"-"+name.
	Netns string
	ID    string
	// IPv4 and IPv6 are the pod's addresses from the CNI result.
	IPv4, IPv6 string
	// Gateway4/6 are the pod's default gateways (the node side).
	Gateway4, Gateway6 string
}

// cniRunner calls the plugin chain through libcni from inside each node.
type cniRunner struct {
	lab      *Lab
	conflist map[string]any // parsed base conflist
	source   string         // where it came from, for progress lines
	paths    []string
}

const (
	conflistPath = "conf/cni/10-offload-overlay.conflist"
	pluginBin    = "bin/offload-overlay"
)

// newCNIRunner loads the project's conflist, or, while the plugin binary is
// not built, an equivalent routed chain with the reference ptp plugin.
func newCNIRunner(l *Lab) (*cniRunner, error) {
	r := &cniRunner{lab: l, paths: []string{filepath.Join(l.cfg.Repo, "bin"), l.cfg.RefCNIDir}}
	for _, p := range []string{"host-local", "portmap", "bandwidth"} {
		if _, err := os.Stat(filepath.Join(l.cfg.RefCNIDir, p)); err != nil {
			return nil, fmt.Errorf("reference CNI plugin %s missing in %s (make ref-plugins): %w", p, l.cfg.RefCNIDir, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(l.cfg.Repo, conflistPath))
	_, berr := os.Stat(filepath.Join(l.cfg.Repo, pluginBin))
	switch {
	case err == nil && berr == nil && os.Getenv("OO_LAB_PTP") == "":
		r.source = conflistPath
	default:
		b, r.source = []byte(ptpConflist), "ptp stand-in (bin/offload-overlay or the conflist missing)"
	}
	if err := json.Unmarshal(b, &r.conflist); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", r.source, err)
	}
	return r, nil
}

func (r *cniRunner) describe() string { return r.source }

// ptpConflist stands in for the project's conflist before the plugin exists:
// the same routed model (pod /32 behind a host veth), host-local IPAM.
const ptpConflist = `{"cniVersion":"1.0.0","name":"offload-overlay","plugins":[
 {"type":"ptp","ipMasq":false,"ipam":{"type":"host-local"}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true},
 {"type":"bandwidth","capabilities":{"bandwidth":true}}]}`

// nodeConflist returns the conflist for one node: the same file for every
// node, with only per-node paths set (the plugin's stateDir and host-local's
// dataDir), and explicit ranges for the ptp stand-in, which has no state file
// to read them from.
func (r *cniRunner) nodeConflist(n *Node) (*libcni.NetworkConfigList, error) {
	var c map[string]any
	b, _ := json.Marshal(r.conflist)
	_ = json.Unmarshal(b, &c)
	plugins, _ := c["plugins"].([]any)
	if len(plugins) == 0 {
		return nil, errors.New("conflist has no plugins")
	}
	first := plugins[0].(map[string]any)
	ipam, _ := first["ipam"].(map[string]any)
	if ipam == nil {
		ipam = map[string]any{"type": "host-local"}
		first["ipam"] = ipam
	}
	ipam["dataDir"] = filepath.Join(n.Dir, "ipam")
	if first["type"] == "ptp" {
		var ranges []any
		for _, p := range n.PodCIDRs {
			ranges = append(ranges, []any{map[string]any{"subnet": p.String()}})
		}
		ipam["ranges"] = ranges
		ipam["routes"] = []any{map[string]any{"dst": "0.0.0.0/0"}, map[string]any{"dst": "::/0"}}
	} else {
		first["stateDir"] = n.Dir
	}
	out, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	list, err := libcni.ConfListFromBytes(out)
	if err != nil {
		return nil, fmt.Errorf("conflist for %s: %w", n.Name, err)
	}
	return list, nil
}

func (r *cniRunner) runtimeConf(p *Pod) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: p.ID, NetNS: topo.NetnsPath(p.Netns), IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "default"}, {"K8S_POD_NAME", p.Name}}}
}

// inNode runs f on a thread inside the node's namespace: libcni execs the
// plugins from that thread, so they run in the node, as under its kubelet.
func inNode(n *Node, f func() error) error {
	nn, err := ns.GetNS(topo.NetnsPath(n.Netns))
	if err != nil {
		return fmt.Errorf("opening %s: %w", n.Netns, err)
	}
	defer nn.Close()
	return nn.Do(func(ns.NetNS) error { return f() })
}

// add creates the pod's namespace and calls ADD. Equivalent to:
// `ip netns add $pod` then, in the node, `cnitool add offload-overlay /var/run/netns/$pod`.
func (r *cniRunner) add(ctx context.Context, n *Node, name string) (*Pod, error) {
	p := &Pod{Name: name, Node: n.Name, Netns: n.Netns + "-" + name, ID: n.Netns + "-" + name}
	if err := topo.AddNetns(p.Netns); err != nil {
		return nil, err
	}
	if _, err := topo.Exec(p.Netns, "ip", "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	list, err := r.nodeConflist(n)
	if err != nil {
		return nil, err
	}
	cfg := libcni.NewCNIConfigWithCacheDir(r.paths, filepath.Join(n.Dir, "cni-cache"), nil)
	var res types.Result
	err = inNode(n, func() error {
		var err error
		res, err = cfg.AddNetworkList(ctx, list, r.runtimeConf(p))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w", p.Name, n.Name, err)
	}
	if err := p.fromResult(res); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pod) fromResult(res types.Result) error {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return fmt.Errorf("pod %s: converting CNI result: %w", p.Name, err)
	}
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() != nil {
			p.IPv4, p.Gateway4 = ip.Address.IP.String(), ip.Gateway.String()
		} else {
			p.IPv6, p.Gateway6 = ip.Address.IP.String(), ip.Gateway.String()
		}
	}
	if p.IPv4 == "" && p.IPv6 == "" {
		return fmt.Errorf("pod %s: no address in the CNI result %v", p.Name, r)
	}
	return nil
}

// IPs are the pod's addresses, IPv4 first; IP is the first of them.
func (p *Pod) IPs() []string { return nonEmpty(p.IPv4, p.IPv6) }
func (p *Pod) IP() string    { return p.IPs()[0] }

// IPs are the node's addresses, IPv4 first (IPv6 only on an IPv6-only
// underlay); IP is the first of them.
func (n *Node) IPs() []string { return nonEmpty(n.IPv4, n.IPv6) }
func (n *Node) IP() string    { return n.IPs()[0] }

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// del calls DEL and removes the pod's namespace (idempotent).
func (r *cniRunner) del(ctx context.Context, p *Pod) error {
	n := r.lab.NodeByName(p.Node)
	list, err := r.nodeConflist(n)
	if err != nil {
		return err
	}
	cfg := libcni.NewCNIConfigWithCacheDir(r.paths, filepath.Join(n.Dir, "cni-cache"), nil)
	err = inNode(n, func() error { return cfg.DelNetworkList(ctx, list, r.runtimeConf(p)) })
	if err != nil {
		return fmt.Errorf("CNI DEL %s on %s: %w", p.Name, p.Node, err)
	}
	return topo.DelNetns(p.Netns)
}

// createPods creates PodsPerNode pods on every node.
func (l *Lab) createPods(ctx context.Context) error {
	for _, n := range l.Nodes {
		for i := 1; i <= l.cfg.PodsPerNode; i++ {
			p, err := l.cni.add(ctx, n, fmt.Sprintf("p%d", i))
			if err != nil {
				return err
			}
			l.Pods = append(l.Pods, p)
		}
	}
	return nil
}
