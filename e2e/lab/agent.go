package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// ErrK8sMissing: the Kubernetes binaries are not built (make k8s-bins).
var ErrK8sMissing = errors.New("kubernetes binaries missing")

// TB, when set, is the test driving the lab: k8senv registers its cleanups
// there. Commands leave it nil and get cmdTB.
var TB testing.TB

// controlPlane is the lab's etcd + kube-apiserver.
type controlPlane struct {
	env    *k8senv.Env
	tb     *cmdTB
	Client kubernetes.Interface
}

func (c *controlPlane) stop() {
	if c.env != nil {
		c.env.Stop()
	}
	if c.tb != nil {
		c.tb.Close()
	}
}

// startControlPlane starts etcd and kube-apiserver listening on the host end
// of the lab's host link, so that node namespaces reach it.
func (l *Lab) startControlPlane() (err error) {
	cp := &controlPlane{}
	var tb testing.TB = TB
	if tb == nil {
		cp.tb = newCmdTB(l.RunDir)
		tb = cp.tb
	}
	l.api = cp
	func() {
		defer func() {
			switch r := recover().(type) {
			case nil:
			case tbSkip:
				err = fmt.Errorf("%w: %s", ErrK8sMissing, r.msg)
			case tbFatal:
				err = fmt.Errorf("starting kube-apiserver: %s", r.msg)
			default:
				panic(r)
			}
		}()
		dir := filepath.Join(l.RunDir, "k8s")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			panic(tbFatal{err.Error()})
		}
		opts := k8senv.Options{ListenAddress: l.Topo.HostIP, AuthorizationMode: "AlwaysAllow", Dir: dir}
		if l.cfg.Spec.IPv6Only {
			// the API server's Service address is of its advertise address's family
			opts.ServiceClusterIPRange = "fd96::/112"
		}
		cp.env = k8senv.Start(tb, opts)
	}()
	if err != nil {
		return err
	}
	cp.Client, err = kubernetes.NewForConfig(cp.env.Config)
	if err != nil {
		return fmt.Errorf("client for %s: %w", cp.env.URL, err)
	}
	return nil
}

// createNode registers a Node as kubelet (InternalIP per family) and
// kube-controller-manager (spec.podCIDRs) would.
func (l *Lab) createNode(ctx context.Context, n *Node) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}}}
	for k, v := range l.bgpLabels(n) {
		node.Labels[k] = v
	}
	for _, p := range n.PodCIDRs {
		node.Spec.PodCIDRs = append(node.Spec.PodCIDRs, p.String())
	}
	node.Spec.PodCIDR = node.Spec.PodCIDRs[0]
	for _, ip := range n.IPs() {
		node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
	created, err := l.api.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating Node %s: %w", n.Name, err)
	}
	if len(created.Status.Addresses) == 0 {
		created.Status.Addresses = node.Status.Addresses
		if _, err := l.api.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("setting addresses of Node %s: %w", n.Name, err)
		}
	}
	return nil
}

// RemoveNode removes a node as if its machine were gone: the Node object is
// deleted (kubectl delete node), its agent killed, its pods' and its own
// namespaces deleted (no CNI DEL: nothing runs there any more).
func (l *Lab) RemoveNode(ctx context.Context, name string) error {
	n := l.NodeByName(name)
	if n == nil {
		return fmt.Errorf("no node %s", name)
	}
	err := l.api.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Node %s: %w", name, err)
	}
	if err := l.stopAgent(n, false); err != nil {
		return err
	}
	var pods []*Pod
	for _, p := range l.Pods {
		if p.Node != name {
			pods = append(pods, p)
			continue
		}
		if err := topo.DelNetns(p.Netns); err != nil {
			return err
		}
	}
	l.Pods = pods
	return topo.DelNetns(n.Netns)
}

// agentProc is one running agent.
type agentProc struct {
	proc *k8senv.Process
}

func (l *Lab) agentBin() string { return filepath.Join(l.cfg.Repo, "bin", "offload-overlay-agent") }

// StartAgent runs the real agent in the node's namespace. Equivalent to:
// `ip netns exec $node offload-overlay-agent run --node-name $n --kubeconfig ... --state-dir $dir`.
func (l *Lab) StartAgent(n *Node) error {
	args := []string{"netns", "exec", n.Netns, l.agentBin(), "run", "--node-name", n.Name,
		"--kubeconfig", l.api.env.Kubeconfig, "--state-dir", n.Dir, "--metrics-addr", "127.0.0.1:9901",
		"--log-format", "json"}
	for _, c := range l.cfg.ClusterCIDRs {
		args = append(args, "--cluster-cidr", c)
	}
	args = append(args, l.bgpArgs()...)
	args = append(args, l.cfg.AgentArgs...)
	p, err := k8senv.StartProcess("agent-"+n.Name, "ip", args, filepath.Join(n.Dir, "agent.log"), nil)
	if err != nil {
		return err
	}
	n.agent = &agentProc{proc: p}
	return nil
}

// stopAgent stops the node's agent with SIGTERM (which leaves the datapath
// in place) and, with cleanup, runs `offload-overlay-agent cleanup`.
func (l *Lab) stopAgent(n *Node, cleanup bool) error {
	if n.agent == nil {
		return nil
	}
	n.agent.proc.Stop(5 * time.Second)
	n.agent = nil
	if !cleanup {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", n.Netns, l.agentBin(), "cleanup", "--state-dir", n.Dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("agent cleanup on %s: %w: %s", n.Name, err, out)
	}
	return nil
}

// RestartAgent stops the agent (SIGTERM) and starts it again.
func (l *Lab) RestartAgent(n *Node) error {
	if err := l.stopAgent(n, false); err != nil {
		return err
	}
	return l.StartAgent(n)
}

// AgentLog returns the tail of a node's agent log.
func (l *Lab) AgentLog(n *Node, lines int) string {
	if n.agent == nil {
		return "(agent not running)"
	}
	return n.agent.proc.Tail(lines)
}

// waitReady waits until every node's state file says ready.
func (l *Lab) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, n := range l.Nodes {
		for {
			st, err := state.Read(n.Dir)
			if err == nil && st.Ready {
				break
			}
			if n.agent != nil {
				if done, werr := n.agent.proc.Exited(); done {
					return fmt.Errorf("agent on %s exited (%v):\n%s", n.Name, werr, n.agent.proc.Tail(20))
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("agent on %s not ready after %s (state: %v %+v):\n%s", n.Name, timeout, err, st, l.AgentLog(n, 20))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// startDatapath starts what programs routes between nodes: the agents (with
// the API server and Node objects) or the lab's own routes.
func (l *Lab) startDatapath(ctx context.Context) error {
	switch l.cfg.Datapath {
	case DatapathNative:
		return l.startManual(PathNative)
	case DatapathVXLAN:
		return l.startManual(PathVXLAN)
	case DatapathAgent:
	default:
		return fmt.Errorf("datapath %q: want agent, native or vxlan", l.cfg.Datapath)
	}
	start := time.Now()
	if err := l.startControlPlane(); err != nil {
		return err
	}
	l.cfg.Progress("kube-apiserver + etcd up on %s (%.1fs)", l.api.env.URL, time.Since(start).Seconds())
	start = time.Now()
	agentsStart := start
	for _, n := range l.Nodes {
		if err := l.createNode(ctx, n); err != nil {
			return err
		}
		if err := l.StartAgent(n); err != nil {
			return err
		}
	}
	if err := l.waitReady(ctx, 90*time.Second); err != nil {
		return err
	}
	l.cfg.Progress("agents ready on %d nodes (%.1fs)", len(l.Nodes), time.Since(start).Seconds())
	start = time.Now()
	settled := l.waitSettled(ctx, 20*time.Second)
	l.cfg.Progress("native probes %s (%.1fs): %s", map[bool]string{true: "settled", false: "still pending"}[settled],
		time.Since(start).Seconds(), l.modesSummary())
	if l.cfg.BGP != nil {
		ok := l.waitBGPNative(ctx, 30*time.Second)
		l.TimeToNative = time.Since(agentsStart)
		l.cfg.Progress("BGP: pairs between announcing nodes %s %.1fs after the agents started: %s",
			map[bool]string{true: "native", false: "NOT all native"}[ok], l.TimeToNative.Seconds(), l.modesSummary())
	}
	if l.cfg.SettleQuiet > 0 {
		start = time.Now()
		quiet := l.waitQuiet(ctx, l.cfg.SettleQuiet, 30*time.Second)
		l.cfg.Progress("modes %s for %s (%.1fs): %s", map[bool]string{true: "unchanged", false: "STILL CHANGING"}[quiet],
			l.cfg.SettleQuiet, time.Since(start).Seconds(), l.modesSummary())
	}
	return nil
}

// waitSettled waits until every node has a path to every other node and
// none counts an unreachable peer path: "ready"
// means the first converge is done, but off-link peers wait for the native
// probes of both ends (decision rule 2) before they leave "unreachable".
// None of the lab's variants has a peer that should stay unreachable.
func (l *Lab) waitSettled(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		pending := false
		for _, n := range l.Nodes {
			st, err := state.Read(n.Dir)
			if err != nil || st.Modes["unreachable"] > 0 {
				pending = true
				continue
			}
			// every other node is a peer: a node that has not yet seen
			// them all (an IPv6 node publishes after DAD) is not settled
			paths := 0
			for _, c := range st.Modes {
				paths += c
			}
			if paths < len(l.Nodes)-1 {
				pending = true
			}
		}
		if !pending {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
	return false
}

// waitQuiet waits until the nodes' modes summary stayed the same for
// quiet, at most timeout.
func (l *Lab) waitQuiet(ctx context.Context, quiet, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	last, since := l.modesSummary(), time.Now()
	for time.Now().Before(deadline) {
		if time.Since(since) >= quiet {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
		if s := l.modesSummary(); s != last {
			last, since = s, time.Now()
		}
	}
	return false
}

// modesSummary is each node's state summary on one line.
func (l *Lab) modesSummary() string {
	var parts []string
	for _, n := range l.Nodes {
		if st, err := state.Read(n.Dir); err == nil {
			parts = append(parts, fmt.Sprintf("%s: %s, pod MTU %d", n.Name, st.Summary, st.MTU))
		}
	}
	return strings.Join(parts, "; ")
}
