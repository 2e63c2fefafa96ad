package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
)

// Defaults of the cluster e2e. The prefix and site keep it apart from the
// lab's ("ool-", 172.28/16) so both can run on one machine.
const (
	Prefix      = "ooc-"
	Site        = 29
	ClusterCIDR = "10.244.0.0/16"
	ServiceCIDR = "10.96.0.0/24"
	// Dual-stack variants (Options.DualStack).
	ClusterCIDRDual = "10.244.0.0/16,fd00:10:244::/56"
	ServiceCIDRDual = "10.96.0.0/24,fd00:10:96::/112"
)

// Options configures Up.
type Options struct {
	// Spec is the node underlay (prefix and site are forced to Prefix/Site).
	Spec topo.Spec
	// Repo is the repository root (bin/, conf/); RefCNIDir the reference
	// plugins (make ref-plugins).
	Repo      string
	RefCNIDir string
	// DualStack gives nodes and pods an IPv4 and an IPv6 address (pod CIDRs
	// from ClusterCIDRDual); the manifest's ConfigMap gets both cluster CIDRs.
	DualStack bool
	// Deferred names underlay nodes that Up leaves without Kubernetes (for
	// AddNode later).
	Deferred []string
	// ClusterCIDR (default ClusterCIDR) for kube-controller-manager's node
	// IPAM and kube-proxy; must match the manifest's ConfigMap.
	ClusterCIDR string
	// Runtime is every node's containerd (default DefaultRuntime()).
	Runtime *Runtime
	// Images adds images to load into every node (given the test tool
	// binary, which is also the pause binary).
	Images func(testimg string) ([]*Image, error)
	// ClusterDNS is the kubelets' clusterDNS (a ClusterIP in the service
	// CIDR, served by DeployCoreDNS); empty = none.
	ClusterDNS string
}

// Cluster is a running multi-node Kubernetes.
type Cluster struct {
	Env    *k8senv.Env
	Client kubernetes.Interface
	Topo   *topo.Topology
	Nodes  []*Node
	Dir    string

	t          testing.TB
	opts       Options
	kubectl    string // kubectl binary and kubeconfig (Remote clusters)
	kubeconfig string
	nodeTokens map[string]string
	proxyToken string
	images     []string
	hostDirs   hostDirs
	mu         sync.Mutex
}

// Up builds the underlay, the control plane (Node,RBAC), loads the images and
// starts every node; the nodes register NotReady (no CNI yet). Everything is
// torn down by t.Cleanup, also on failure.
func Up(t testing.TB, opts Options) *Cluster {
	t.Helper()
	k8senv.RequireBinaries(t, "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "crictl")
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, b := range []string{"nsenter", "unshare"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s not installed (make deps): %v", b, err)
		}
	}
	if opts.Runtime == nil {
		rt := DefaultRuntime()
		opts.Runtime = &rt
	}
	if err := opts.Runtime.check(); err != nil {
		if k8senv.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	svcCIDR := ServiceCIDR
	if opts.ClusterCIDR == "" {
		opts.ClusterCIDR = ClusterCIDR
		if opts.DualStack {
			opts.ClusterCIDR, svcCIDR = ClusterCIDRDual, ServiceCIDRDual
		}
	}
	opts.Spec.Prefix, opts.Spec.Site, opts.Spec.HostLink, opts.Spec.Internet = Prefix, Site, true, true
	dir, err := os.MkdirTemp("", "ooc-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, opts: opts, Dir: dir, nodeTokens: map[string]string{}, proxyToken: k8senv.RandomToken()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})

	// One cluster e2e per machine at a time: Up starts by removing every
	// "ooc-" leftover, which would tear down a concurrent run's cluster.
	start := time.Now()
	unlock, err := topo.Lock(Prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	if waited := time.Since(start); waited > time.Second {
		t.Logf("waited %.0fs for another cluster e2e to finish", waited.Seconds())
	}
	tp, err := topo.Up(opts.Spec)
	t.Cleanup(func() {
		if err := topo.Down(Prefix); err != nil {
			t.Errorf("removing the underlay: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("building the underlay: %v", err)
	}
	c.Topo = tp
	t.Logf("underlay up in %.1fs (%d nodes, host %s)", time.Since(start).Seconds(), len(tp.Nodes), tp.HostIP)

	tokens := []k8senv.Token{{Token: c.proxyToken, User: "system:kube-proxy", UID: "kube-proxy"}}
	for _, n := range tp.Nodes {
		tok := k8senv.RandomToken()
		c.nodeTokens[n.Netns] = tok
		tokens = append(tokens, k8senv.Token{Token: tok, User: "system:node:" + n.Netns, UID: n.Netns, Groups: []string{"system:nodes"}})
	}
	if err := os.MkdirAll(filepath.Join(dir, "cp"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.Env = k8senv.Start(t, k8senv.Options{
		ListenAddress: tp.HostIP, AuthorizationMode: "Node,RBAC", ServiceClusterIPRange: svcCIDR,
		Tokens: tokens, Dir: filepath.Join(dir, "cp"),
	})
	c.Env.StartControllerManager(t, k8senv.ControllerManagerOptions{ClusterCIDR: opts.ClusterCIDR, NodeCIDRMaskSize: 24})
	c.Env.StartScheduler(t)
	if c.Client, err = kubernetes.NewForConfig(c.Env.Config); err != nil {
		t.Fatal(err)
	}

	if err := c.buildImages(); err != nil {
		t.Fatalf("building images: %v", err)
	}
	t.Cleanup(c.hostDirs.remove)
	if err := c.hostDirs.ensure(); err != nil {
		t.Fatal(err)
	}
	for _, tn := range tp.Nodes {
		if slices.Contains(opts.Deferred, tn.Name) {
			continue
		}
		if _, err := c.AddNode(tn.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitPodCIDRs(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	// OOC_PAUSE=1: on failure, keep everything running for inspection until
	// the file $OOC_PAUSE_FILE (default /tmp/ooc-continue) exists.
	if os.Getenv("OOC_PAUSE") == "1" {
		t.Cleanup(func() {
			if !t.Failed() {
				return
			}
			f := os.Getenv("OOC_PAUSE_FILE")
			if f == "" {
				f = "/tmp/ooc-continue"
			}
			t.Logf("OOC_PAUSE: cluster kept running (kubeconfig %s); touch %s to tear down", c.Env.Kubeconfig, f)
			for {
				if _, err := os.Stat(f); err == nil {
					os.Remove(f)
					return
				}
				time.Sleep(time.Second)
			}
		})
	}
	t.Logf("cluster up in %.1fs: %d nodes registered with pod CIDRs, NotReady (no CNI)", time.Since(start).Seconds(), len(c.Nodes))
	return c
}

// AddNode starts a node on the underlay node called name (which must exist in
// c.Topo) and registers its teardown.
func (c *Cluster) AddNode(name string) (*Node, error) {
	tn := c.Topo.NodeByName(name)
	if tn == nil {
		return nil, fmt.Errorf("no underlay node %q", name)
	}
	n := &Node{Name: tn.Netns, Netns: tn.Netns, IP: tn.IPv4, Dir: filepath.Join(c.Dir, tn.Netns), cluster: c}
	if c.opts.DualStack {
		n.IPv6 = tn.IPv6
	}
	c.t.Cleanup(n.stop)
	s := time.Now()
	if err := n.start(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.Nodes = append(c.Nodes, n)
	c.mu.Unlock()
	c.t.Logf("node %s (%s, %s) started in %.1fs", n.Name, n.IP, tn.Segment, time.Since(s).Seconds())
	return n, nil
}

// RemoveNode stops a node (its pods, daemons, namespaces' processes) and
// deletes its Node object.
func (c *Cluster) RemoveNode(n *Node) error {
	n.stop()
	c.mu.Lock()
	for i, x := range c.Nodes {
		if x == n {
			c.Nodes = append(c.Nodes[:i], c.Nodes[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	err := c.Client.CoreV1().Nodes().Delete(context.Background(), n.Name, metav1.DeleteOptions{})
	if err != nil {
		return fmt.Errorf("deleting node %s: %w", n.Name, err)
	}
	// Its pods are gone with it; say so now rather than wait for the pod
	// garbage collector's 40 s quarantine of pods on deleted nodes.
	_, err = c.Kubectl("delete", "pods", "-A", "--field-selector", "spec.nodeName="+n.Name, "--force", "--grace-period=0")
	return err
}

// Node returns the node called name (the Kubernetes name), or nil.
func (c *Cluster) Node(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// WaitPodCIDRs waits until every node has spec.podCIDRs and tells the
// underlay (which routes them where its spec says so).
func (c *Cluster) WaitPodCIDRs(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, n := range c.Nodes {
		for {
			node, err := c.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
			if err == nil && len(node.Spec.PodCIDRs) > 0 {
				if err := c.Topo.SetPodCIDRs(strings.TrimPrefix(n.Name, Prefix), node.Spec.PodCIDRs); err != nil {
					return err
				}
				break
			}
			if done, werr := n.kubelet.Exited(); done {
				return fmt.Errorf("node %s: kubelet exited: %v\n%s", n.Name, werr, n.kubelet.Tail(15))
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %s: no pod CIDR after %s (registered: %v)\nkubelet:\n%s", n.Name, timeout, err == nil, n.kubelet.Tail(15))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// buildImages packs the pause, test and project images as docker-archive
// tarballs (imported into every node's containerd by AddNode).
func (c *Cluster) buildImages() error {
	s := time.Now()
	testimg := filepath.Join(c.Dir, "testimg")
	for _, tool := range []string{"testimg", "cnidrive"} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(c.Dir, tool), "./e2e/cluster/cmd/"+tool)
		cmd.Dir, cmd.Env = c.opts.Repo, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w: %s", tool, err, out)
		}
	}
	ref, err := ManifestImage(filepath.Join(c.opts.Repo, ManifestPath))
	if err != nil {
		return err
	}
	proj, err := ProjectImage(ref, c.opts.Repo, c.opts.RefCNIDir)
	if err != nil {
		return err
	}
	images := append(TestImages(testimg), proj)
	if c.opts.Images != nil {
		extra, err := c.opts.Images(testimg)
		if err != nil {
			return err
		}
		images = append(images, extra...)
	}
	for _, im := range images {
		out := filepath.Join(c.Dir, strings.NewReplacer("/", "_", ":", "_").Replace(im.Ref)+".tar")
		if err := im.WriteDockerArchive(out); err != nil {
			return err
		}
		c.images = append(c.images, out)
	}
	c.t.Logf("images packed in %.1fs: %d (%s, %s, %s, ...)", time.Since(s).Seconds(), len(images), PauseImage, TestImage, ref)
	return nil
}

// ManifestPath is the install manifest, relative to the repository root.
const ManifestPath = "conf/kubernetes/offload-overlay.yaml"

// Kubectl runs kubectl as admin and returns its combined output.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := c.kubectlCmd(ctx, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// NodeCondition returns the status and reason of a node condition.
func NodeCondition(n *corev1.Node, typ corev1.NodeConditionType) (corev1.ConditionStatus, string) {
	for _, c := range n.Status.Conditions {
		if c.Type == typ {
			return c.Status, c.Reason + ": " + c.Message
		}
	}
	return corev1.ConditionUnknown, "no condition"
}

func (c *Cluster) kubectlStdin(stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.kubectlCmd(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartOutsideServer runs the test server in the underlay's internet
// namespace (outside the cluster, no route to pod CIDRs) and returns its IPv4.
func (c *Cluster) StartOutsideServer() (string, error) {
	p, err := k8senv.StartProcess("outside-server", "ip", []string{"netns", "exec", c.Topo.Internet, filepath.Join(c.Dir, "testimg"), "serve"},
		filepath.Join(c.Dir, "outside-server.log"), append(os.Environ(), "NODE_NAME=outside"))
	if err != nil {
		return "", err
	}
	c.t.Cleanup(func() { p.Stop(time.Second) })
	return c.Topo.InternetIPs[0], nil
}

// OutsideIPs are the internet namespace's addresses the cluster's pods can
// use: IPv4, and IPv6 in dual-stack clusters.
func (c *Cluster) OutsideIPs() []string {
	if c.opts.DualStack {
		return c.Topo.InternetIPs
	}
	return c.Topo.InternetIPs[:1]
}

func runOut(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func (c *Cluster) kubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	bin, kc := c.kubectl, c.kubeconfig
	if bin == "" {
		bin, kc = k8senv.Bin("kubectl"), c.Env.Kubeconfig
	}
	return exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", kc}, args...)...)
}

// Remote wraps an existing cluster (kind) for the kubectl-only checks:
// CheckPodToPod, CheckService, CheckAPIServer. nodeIPs maps node names to
// InternalIPs (CheckMasquerade).
func Remote(t testing.TB, kubectl, kubeconfig string, nodeIPs map[string]string) *Cluster {
	c := &Cluster{t: t, kubectl: kubectl, kubeconfig: kubeconfig}
	for name, ip := range nodeIPs {
		c.Nodes = append(c.Nodes, &Node{Name: name, IP: ip, cluster: c})
	}
	return c
}
