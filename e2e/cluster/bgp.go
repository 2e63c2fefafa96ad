package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/bgprouter"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
)

// BGP in the cluster e2e: the underlay's router namespace runs BIRD 2
// (package bgprouter) as a top-of-rack router would, one neighbour per node,
// and no static pod route (Spec.PodRouteSegments stays empty): the fabric
// knows a pod CIDR only when the node's agent announced it. The product is
// configured the way README's "BGP" section tells an operator to: the
// ConfigMap's BGP keys, a Secret for the TCP MD5 password, and a Node
// label per rack naming its router.

// BGPFabric is the cluster's BGP router and what the nodes are told.
type BGPFabric struct {
	Router   *bgprouter.Router
	NodeAS   uint32
	FabricAS uint32
	Password string
	HoldTime time.Duration
	// Import turns --bgp-import on (OFFLOAD_OVERLAY_BGP_IMPORT); Originate
	// are prefixes the router announces as its own, for the nodes to learn.
	Import    bool
	Originate []netip.Prefix
}

// StartBGPRouter runs BIRD in the underlay's router namespace with every
// node (its IPv4 node IP) as a neighbour in nodeAS, and stops it at cleanup.
func (c *Cluster) StartBGPRouter(f *BGPFabric) error {
	if why := bgprouter.Available(); why != "" {
		return fmt.Errorf("cluster with BGP: %s", why)
	}
	cfg := bgprouter.Config{Netns: c.Topo.Router, Dir: filepath.Join(c.Dir, "bird"), AS: f.FabricAS, HoldTime: f.HoldTime, Originate: f.Originate}
	for _, n := range c.Nodes {
		tn := c.Topo.NodeByName(strings.TrimPrefix(n.Name, Prefix))
		ip, err := netip.ParseAddr(n.IP)
		if err != nil {
			return fmt.Errorf("node %s: BGP needs an IPv4 node IP: %w", n.Name, err)
		}
		if !cfg.RouterID.IsValid() {
			cfg.RouterID, _ = netip.ParseAddr(tn.Gateway4)
		}
		cfg.Neighbors = append(cfg.Neighbors, bgprouter.Neighbor{Name: RouterProtocol(n), Address: ip, AS: f.NodeAS, Password: f.Password})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := bgprouter.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("starting BIRD in %s: %w", c.Topo.Router, err)
	}
	c.t.Cleanup(r.Stop)
	f.Router = r
	return nil
}

// RouterProtocol is BIRD's name for node n's session (birdc show protocols).
func RouterProtocol(n *Node) string {
	return "node_" + strings.NewReplacer("-", "_", ".", "_").Replace(n.Name)
}

// LabelRacks does what README's top-of-rack example does per rack: label
// each Node with its router, the router's address on the node's segment.
// Equivalent to: `kubectl label node NODE offload-overlay.io/bgp-peers=GW-AS`.
func (c *Cluster) LabelRacks(f *BGPFabric) error {
	for _, n := range c.Nodes {
		tn := c.Topo.NodeByName(strings.TrimPrefix(n.Name, Prefix))
		v := tn.Gateway4 + "-" + strconv.FormatUint(uint64(f.FabricAS), 10)
		if _, err := c.Kubectl("label", "node", n.Name, "--overwrite", bgpconfig.LabelPeers+"="+v); err != nil {
			return err
		}
	}
	return nil
}

// Kustomization is the operator's overlay on the shipped manifest: the
// ConfigMap's BGP keys set (they ship commented out) and the optional
// Secret offload-overlay-bgp holding the password, generated without a
// name hash because the DaemonSet refers to it by name.
func (f *BGPFabric) Kustomization(manifest string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [%s]
patches:
  - patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: offload-overlay, namespace: %s}
      data:
        OFFLOAD_OVERLAY_BGP_AS: "%d"
        OFFLOAD_OVERLAY_BGP_GRACEFUL_RESTART: "true"
        OFFLOAD_OVERLAY_BGP_HOLD_TIME: "%s"
        OFFLOAD_OVERLAY_BGP_IMPORT: "%t"
`, manifest, AgentNamespace, f.NodeAS, f.HoldTime, f.Import)
	if f.Password != "" {
		fmt.Fprintf(&b, `secretGenerator:
  - name: offload-overlay-bgp
    namespace: %s
    literals: [password=%s]
    options: {disableNameSuffixHash: true}
`, AgentNamespace, f.Password)
	}
	return b.String()
}

// InstallKustomized is Install through a kustomization: the shipped
// manifest copied beside kustomization (kustomize loads only files under
// its root), `kubectl apply -k`, then the rollout and every node Ready.
func (c *Cluster) InstallKustomized(kustomization func(manifest string) string, timeout time.Duration) error {
	dir := filepath.Join(c.Dir, "kustomize")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(c.opts.Repo, ManifestPath))
	if err != nil {
		return err
	}
	base := filepath.Base(ManifestPath)
	if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization(base)), 0o644); err != nil {
		return err
	}
	if _, err := c.Kubectl("apply", "-k", dir); err != nil {
		return err
	}
	return c.WaitInstalled(timeout)
}

// DoctorReport runs `offload-overlay-agent doctor --peer IP -o json` in the
// agent pod on node a for peer b and returns its whole report.
func (c *Cluster) DoctorReport(a, b *Node) (*doctor.Report, error) {
	pod, err := c.AgentPod(a.Name)
	if err != nil {
		return nil, err
	}
	cidrs, err := c.PodCIDRs(b.Name)
	if err != nil {
		return nil, err
	}
	out, err := c.Kubectl("-n", AgentNamespace, "exec", pod, "-c", "agent", "--",
		"/usr/local/bin/offload-overlay-agent", "doctor", "--peer", b.IP, "--peer-pod-cidr", cidrs[0], "-o", "json")
	if err != nil {
		return nil, err
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("doctor output: %w: %.200s", err, out)
	}
	return &r, nil
}
