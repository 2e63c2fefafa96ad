package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AgentNamespace and AgentDaemonSet are the manifest's names.
const (
	AgentNamespace = "offload-overlay"
	AgentDaemonSet = "offload-overlay"
)

// Install does what an operator does: kubectl apply -f the manifest. It then
// waits for the DaemonSet to roll out and every node to be Ready.
func (c *Cluster) Install(timeout time.Duration) error {
	manifest := filepath.Join(c.opts.Repo, ManifestPath)
	if c.opts.ClusterCIDR == ClusterCIDR {
		if _, err := c.Kubectl("apply", "-f", manifest); err != nil {
			return err
		}
		return c.WaitInstalled(timeout)
	}
	// Another cluster CIDR: the one edit README's "Configure" step asks for.
	b, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	edited := regexp.MustCompile(`(?m)^(\s*OFFLOAD_OVERLAY_CLUSTER_CIDR:).*$`).ReplaceAllString(string(b), `$1 "`+c.opts.ClusterCIDR+`"`)
	if edited == string(b) {
		return fmt.Errorf("%s: no OFFLOAD_OVERLAY_CLUSTER_CIDR to set", manifest)
	}
	if err := c.Apply(edited); err != nil {
		return err
	}
	return c.WaitInstalled(timeout)
}

// WaitInstalled waits for the DaemonSet rollout and every node Ready.
func (c *Cluster) WaitInstalled(timeout time.Duration) error {
	if _, err := c.Kubectl("-n", AgentNamespace, "rollout", "status", "ds/"+AgentDaemonSet, fmt.Sprintf("--timeout=%ds", int(timeout.Seconds()))); err != nil {
		return fmt.Errorf("%w\n%s", err, c.agentDiagnostics())
	}
	return c.WaitNodesReady(timeout)
}

// WaitNodesReady waits until every node of the cluster is Ready and its
// NetworkUnavailable condition is False (the agent converged).
func (c *Cluster) WaitNodesReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		notReady := []string{}
		for _, n := range c.Nodes {
			node, err := c.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
			if err != nil {
				notReady = append(notReady, n.Name+": "+err.Error())
				continue
			}
			if st, why := NodeCondition(node, corev1.NodeReady); st != corev1.ConditionTrue {
				notReady = append(notReady, n.Name+": "+why)
			} else if st, why := NodeCondition(node, corev1.NodeNetworkUnavailable); st != corev1.ConditionFalse {
				// Ready comes from the runtime (a conflist exists); the
				// agent says when this node's network has converged.
				notReady = append(notReady, n.Name+": NetworkUnavailable "+string(st)+" "+why)
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nodes not Ready after %s: %s\n%s", timeout, strings.Join(notReady, "; "), c.agentDiagnostics())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// AgentPod returns the name of the agent pod on node.
func (c *Cluster) AgentPod(node string) (string, error) {
	out, err := c.Kubectl("-n", AgentNamespace, "get", "pods", "-l", "app.kubernetes.io/name=offload-overlay",
		"--field-selector", "spec.nodeName="+node, "-o", "jsonpath={.items[0].metadata.name}")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(out) == "" {
		return "", fmt.Errorf("no agent pod on %s", node)
	}
	return strings.TrimSpace(out), nil
}

// agentDiagnostics describes the agent pods and their logs (for failures).
func (c *Cluster) agentDiagnostics() string {
	var b strings.Builder
	out, _ := c.Kubectl("-n", AgentNamespace, "get", "pods", "-o", "wide")
	b.WriteString(out)
	for _, n := range c.Nodes {
		p, err := c.AgentPod(n.Name)
		if err != nil {
			continue
		}
		for _, ctr := range []string{"install-cni", "agent"} {
			logs, _ := c.Kubectl("-n", AgentNamespace, "logs", p, "-c", ctr, "--tail=15")
			fmt.Fprintf(&b, "--- %s %s (%s):\n%s\n", n.Name, ctr, p, logs)
		}
	}
	return b.String()
}
