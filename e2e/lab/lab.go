package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/bgprouter"
)

// Datapath selects who programs the routes between nodes.
type Datapath string

const (
	// DatapathAgent: the real agent on every node (needs the API server).
	DatapathAgent Datapath = "agent"
	// DatapathNative and DatapathVXLAN: the lab programs every peer itself
	// (no agent, no API server), native routes or its own VXLAN overlay.
	DatapathNative Datapath = "native"
	DatapathVXLAN  Datapath = "vxlan"
)

// Config describes a lab run.
type Config struct {
	Spec     topo.Spec
	Datapath Datapath
	// AgentArgs are extra `offload-overlay-agent run` flags (e.g. --mode vxlan).
	AgentArgs []string
	// PodsPerNode pods get created on every node (default 2).
	PodsPerNode int
	// Repo is the repository root (bin/ and conf/ are read from it).
	Repo string
	// RefCNIDir holds host-local, portmap, bandwidth, loopback ($REF_CNI_DIR).
	RefCNIDir string
	// ClusterCIDRs, one per family (default 10.244.0.0/16, fd44::/48); node i
	// (from 1) gets 10.244.i.0/24 and fd44:0:0:i::/64.
	ClusterCIDRs []string
	// Progress receives one line per step (nil: slog).
	Progress func(format string, args ...any)
	// BGP runs a BGP router (BIRD) in the router namespace and BGP in the
	// agents (bgp.go); nil: no BGP.
	BGP *BGP
	// SettleQuiet, when set, makes Up also wait (at most 30 s) until no
	// node's modes changed for this long: a native probe that failed
	// because the peer was still starting is retried after 5 s, so a pair
	// can turn native a few seconds after "settled". Measurements that
	// label a pair with its mode (bench, demo) set it; tests poll instead.
	SettleQuiet time.Duration
}

// Lab is a running lab.
type Lab struct {
	cfg   Config
	Topo  *topo.Topology
	Nodes []*Node
	Pods  []*Pod
	api   *controlPlane
	// RunDir holds per-node state, logs and the kubeconfig.
	RunDir string
	cni    *cniRunner
	router *bgprouter.Router
	unlock func()
	// TimeToNative is, with BGP, the time from the agents' start until every
	// pair of announcing nodes was native (announcement + probes).
	TimeToNative time.Duration
	// HoldLock keeps the prefix lock after Down until Unlock, so that a
	// caller can inspect the machine before another run of the same prefix
	// starts (the teardown test).
	HoldLock bool
}

// Unlock releases the prefix lock (Down does it unless HoldLock).
func (l *Lab) Unlock() {
	if l.unlock != nil {
		l.unlock()
	}
}

// Node is one lab node with what the lab assigned to it.
type Node struct {
	topo.Node
	PodCIDRs []netip.Prefix
	// Dir is the node's state directory (agent --state-dir, plugin stateDir).
	Dir   string
	agent *agentProc
	vx    *labVXLAN
}

// RunRoot is where every lab keeps per-node state.
const RunRoot = "/run/offload-overlay-lab"

func (c *Config) defaults() error {
	if c.PodsPerNode == 0 {
		c.PodsPerNode = 2
	}
	if c.Datapath == "" {
		c.Datapath = DatapathAgent
	}
	if len(c.ClusterCIDRs) == 0 {
		c.ClusterCIDRs = []string{"10.244.0.0/16", "fd44::/48"}
	}
	if c.Repo == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		c.Repo = findRepo(wd)
	}
	if c.RefCNIDir == "" {
		c.RefCNIDir = os.Getenv("REF_CNI_DIR")
	}
	if c.RefCNIDir == "" {
		home, _ := os.UserHomeDir()
		c.RefCNIDir = filepath.Join(home, ".cache/offload-overlay/cni-plugins-v1.9.1")
	}
	if c.Progress == nil {
		c.Progress = func(f string, a ...any) { slog.Info(fmt.Sprintf(f, a...)) }
	}
	c.Spec.HostLink = c.Spec.HostLink || c.Datapath == DatapathAgent
	if c.BGP != nil {
		c.BGP.defaults()
	}
	return nil
}

// findRepo walks up from dir to the directory holding go.mod.
func findRepo(dir string) string {
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

// Up builds the underlay, starts the control plane and the agents (or
// programs the lab's own datapath), and creates the pods. On failure it
// removes everything it made.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	l := &Lab{cfg: cfg, RunDir: filepath.Join(RunRoot, cfg.Spec.Prefix+"lab")}
	var err error
	if l.unlock, err = topo.Lock(cfg.Spec.Prefix); err != nil {
		return nil, err
	}
	success := false
	defer func() {
		if !success {
			if derr := l.Down(); derr != nil {
				slog.Warn("cleanup after failed lab Up", "err", derr)
			}
		}
	}()
	if err := l.assignPodCIDRs(); err != nil {
		return nil, err
	}
	start := time.Now()
	if l.Topo, err = topo.Up(l.cfg.Spec); err != nil {
		return nil, fmt.Errorf("building underlay: %w", err)
	}
	for i := range l.Topo.Nodes {
		l.Nodes[i].Node = l.Topo.Nodes[i]
	}
	cfg.Progress("underlay up: %d nodes, %d namespaces (%.1fs)", len(l.Nodes), len(l.Nodes)+3, time.Since(start).Seconds())
	if err := l.startRouter(ctx); err != nil {
		return nil, err
	}
	if err := l.startDatapath(ctx); err != nil {
		return nil, err
	}
	if l.cni, err = newCNIRunner(l); err != nil {
		return nil, err
	}
	start = time.Now()
	if err := l.createPods(ctx); err != nil {
		return nil, err
	}
	cfg.Progress("pods up: %d pods through libcni with %s (%.1fs)", len(l.Pods), l.cni.describe(), time.Since(start).Seconds())
	success = true
	return l, nil
}

// assignPodCIDRs gives node i its pod CIDRs (what kube-controller-manager's
// node IPAM would allocate) and records them in the spec so the router can
// carry them.
func (l *Lab) assignPodCIDRs() error {
	// A killed earlier run may have left state (a "ready" state file, IPAM
	// allocations): start from empty directories.
	if err := os.RemoveAll(l.RunDir); err != nil {
		return fmt.Errorf("removing stale %s: %w", l.RunDir, err)
	}
	if err := os.MkdirAll(l.RunDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", l.RunDir, err)
	}
	for i := range l.cfg.Spec.Nodes {
		n := &l.cfg.Spec.Nodes[i]
		var cidrs []netip.Prefix
		for _, c := range l.cfg.ClusterCIDRs {
			p, err := podCIDR(c, i+1)
			if err != nil {
				return err
			}
			cidrs = append(cidrs, p)
		}
		n.PodCIDRs = nil
		for _, p := range cidrs {
			n.PodCIDRs = append(n.PodCIDRs, p.String())
		}
		dir := filepath.Join(RunRoot, l.cfg.Spec.Prefix+n.Name)
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing stale %s: %w", dir, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		l.Nodes = append(l.Nodes, &Node{PodCIDRs: cidrs, Dir: dir})
	}
	return nil
}

// podCIDR returns node i's slice of a cluster CIDR: a /24 of an IPv4 /16, a
// /64 of an IPv6 /48.
func podCIDR(cluster string, i int) (netip.Prefix, error) {
	c, err := netip.ParsePrefix(cluster)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("cluster CIDR %q: %w", cluster, err)
	}
	if c.Addr().Is4() {
		if c.Bits() > 16 {
			return netip.Prefix{}, fmt.Errorf("cluster CIDR %s: want /16 or shorter", c)
		}
		b := c.Masked().Addr().As4()
		b[2] = byte(i)
		return netip.PrefixFrom(netip.AddrFrom4(b), 24), nil
	}
	if c.Bits() > 48 {
		return netip.Prefix{}, fmt.Errorf("cluster CIDR %s: want /48 or shorter", c)
	}
	b := c.Masked().Addr().As16()
	b[6], b[7] = byte(i>>8), byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64), nil
}

// Down removes pods (CNI DEL), agents (SIGTERM, then `cleanup`), the control
// plane, the underlay and the run directories. Safe to call twice and after a
// failed Up.
func (l *Lab) Down() error {
	var errs []error
	if l.cni != nil {
		for _, p := range l.Pods {
			if err := l.cni.del(context.Background(), p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	l.Pods = nil
	for _, n := range l.Nodes {
		if err := l.stopAgent(n, true); err != nil {
			errs = append(errs, err)
		}
	}
	if l.api != nil {
		l.api.stop()
		l.api = nil
	}
	l.stopRouter()
	if err := topo.Down(l.cfg.Spec.Prefix); err != nil {
		errs = append(errs, err)
	}
	for _, n := range l.Nodes {
		if n.Dir != "" {
			errs = append(errs, os.RemoveAll(n.Dir))
		}
	}
	errs = append(errs, os.RemoveAll(l.RunDir))
	if !l.HoldLock {
		l.Unlock()
	}
	return errors.Join(errs...)
}

// NodeByName returns the lab node called name.
func (l *Lab) NodeByName(name string) *Node {
	for _, n := range l.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// PodsOn returns the pods of one node.
func (l *Lab) PodsOn(node string) []*Pod {
	var out []*Pod
	for _, p := range l.Pods {
		if p.Node == node {
			out = append(out, p)
		}
	}
	return out
}
