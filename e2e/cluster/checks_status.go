package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// RuntimeNetwork is the runtime's NetworkReady condition as `crictl info`
// reports it (containerd 2 fills it from the conflist's CNI STATUS).
type RuntimeNetwork struct {
	Ready   bool
	Reason  string
	Message string
}

// RuntimeNetwork asks the node's runtime for its NetworkReady condition.
// Equivalent to: `crictl info | jq '.status.conditions[] | select(.type=="NetworkReady")'`.
func (n *Node) RuntimeNetwork() (RuntimeNetwork, error) {
	out, err := n.Crictl("info")
	if err != nil {
		return RuntimeNetwork{}, err
	}
	var info struct {
		Status struct {
			Conditions []struct {
				Type    string `json:"type"`
				Status  bool   `json:"status"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return RuntimeNetwork{}, fmt.Errorf("crictl info on %s: %w", n.Name, err)
	}
	for _, c := range info.Status.Conditions {
		if c.Type == "NetworkReady" {
			return RuntimeNetwork{Ready: c.Status, Reason: c.Reason, Message: c.Message}, nil
		}
	}
	return RuntimeNetwork{}, fmt.Errorf("crictl info on %s: no NetworkReady condition", n.Name)
}

// CheckStatusGatesPods shows containerd 2 asking the plugin for STATUS and
// the kubelet acting on the answer. Node n loses its agent the way a reboot
// does (the DaemonSet no longer runs on n, and /run, where the agent's state
// lives, is empty) while the conflist stays in /etc/cni/net.d; with a 1.0.0
// conflist the runtime would call the network ready and start pods whose ADD
// then fails. Here:
//  1. STATUS fails (code 50, "node agent has not written its state yet"):
//     crictl info says NetworkReady=false and the Node turns NotReady with
//     the plugin's message;
//  2. a pod bound to n is not started (NetworkNotReady event, no sandbox, so
//     no ADD);
//  3. the agent comes back, converges, STATUS succeeds: NetworkReady=true,
//     the Node is Ready and the pod runs with an address.
func CheckStatusGatesPods(t *testing.T, c *Cluster, n *Node) {
	if !c.opts.Runtime.V2() {
		t.Skip("containerd 1.6 never calls STATUS (network ready = a conflist is loaded)")
	}
	rn, err := n.RuntimeNetwork()
	if err != nil || !rn.Ready {
		t.Fatalf("%s before: NetworkReady %+v %v", n.Name, rn, err)
	}

	excl := fmt.Sprintf(`{"spec":{"template":{"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":`+
		`{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"NotIn","values":[%q]}]}]}}}}}}}`, n.Name)
	if _, err := c.Kubectl("-n", AgentNamespace, "patch", "ds", AgentDaemonSet, "-p", excl); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if restored {
			return
		}
		restored = true
		if _, err := c.Kubectl("-n", AgentNamespace, "patch", "ds", AgentDaemonSet, "--type=json",
			"-p", `[{"op":"remove","path":"/spec/template/spec/affinity"}]`); err != nil {
			t.Errorf("restoring the DaemonSet: %v", err)
		}
	}
	t.Cleanup(restore)
	if err := waitFor(3*time.Minute, func() error {
		if p, err := c.AgentPod(n.Name); err == nil {
			return fmt.Errorf("agent pod %s still on %s", p, n.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kubectl("-n", AgentNamespace, "rollout", "status", "ds/"+AgentDaemonSet, "--timeout=180s"); err != nil {
		t.Fatal(err)
	}
	// The reboot: /run is a tmpfs, the agent's state is gone with it.
	if out, err := n.Exec("rm", "-f", state.Path(state.DefaultDir)); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := time.Now()
	if err := waitFor(60*time.Second, func() error {
		rn, err = n.RuntimeNetwork()
		if err == nil && rn.Ready {
			err = fmt.Errorf("NetworkReady still true")
		}
		return err
	}); err != nil {
		t.Fatalf("%s: agent gone, state gone: %v", n.Name, err)
	}
	t.Logf("%s: crictl info after %.1fs: NetworkReady=false reason=%s message=%q", n.Name, time.Since(s).Seconds(), rn.Reason, rn.Message)
	if !strings.Contains(rn.Message, "node agent") {
		t.Errorf("%s: NetworkReady message %q does not carry the plugin's STATUS error", n.Name, rn.Message)
	}
	var why string
	if err := waitFor(60*time.Second, func() error {
		node, err := c.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var st corev1.ConditionStatus
		if st, why = NodeCondition(node, corev1.NodeReady); st == corev1.ConditionTrue {
			return fmt.Errorf("node still Ready")
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	t.Logf("%s: Node Ready condition: %s", n.Name, why)
	if !strings.Contains(why, "NetworkReady=false") {
		t.Errorf("%s: NotReady for another reason: %s", n.Name, why)
	}

	// A pod bound to n (no scheduler, tolerating the not-ready taints): the
	// kubelet must not start it.
	const pod = "status-gated"
	manifest := strings.Replace(podManifest(pod, n.Name, []string{"serve"}, 0),
		"  terminationGracePeriodSeconds: 1\n", "  terminationGracePeriodSeconds: 1\n  tolerations: [{operator: Exists}]\n", 1)
	if err := c.Apply(manifest); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Kubectl("delete", "pod", pod, "--wait=false") })
	var ev string
	if err := waitFor(60*time.Second, func() error {
		ev, err = c.Kubectl("get", "events", "--field-selector", "involvedObject.name="+pod+",reason=NetworkNotReady",
			"-o", "jsonpath={.items[0].message}")
		if err == nil && strings.TrimSpace(ev) == "" {
			err = fmt.Errorf("no NetworkNotReady event yet")
		}
		return err
	}); err != nil {
		t.Fatalf("pod %s on %s: %v", pod, n.Name, err)
	}
	t.Logf("pod %s on %s: NetworkNotReady: %s", pod, n.Name, strings.TrimSpace(ev))
	if sb, err := n.Crictl("pods", "-q", "--name", pod); err != nil || strings.TrimSpace(sb) != "" {
		t.Errorf("pod %s on %s has a sandbox while the network is not ready (ADD called): %q %v", pod, n.Name, sb, err)
	}
	if ip, _ := c.Kubectl("get", "pod", pod, "-o", "jsonpath={.status.phase} {.status.podIP}"); strings.TrimSpace(ip) != "Pending" {
		t.Errorf("pod %s on %s: %q, want Pending without an address", pod, n.Name, ip)
	}

	// The agent returns (the DaemonSet covers n again), converges, writes a
	// ready state: STATUS succeeds and the pod starts.
	restore()
	s = time.Now()
	if err := c.WaitInstalled(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	rn, err = n.RuntimeNetwork()
	if err != nil || !rn.Ready {
		t.Errorf("%s: Node Ready but runtime NetworkReady %+v %v", n.Name, rn, err)
	}
	if _, err := c.Kubectl("wait", "--for=condition=Ready", "pod/"+pod, "--timeout=90s"); err != nil {
		t.Fatal(err)
	}
	ip, _ := c.Kubectl("get", "pod", pod, "-o", "jsonpath={.status.podIP}")
	t.Logf("%s: agent back and converged: NetworkReady=true, Node Ready, pod %s running at %s (%.1fs after the DaemonSet was restored)",
		n.Name, pod, ip, time.Since(s).Seconds())
}
