package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
)

// CheckNodesNetworkAvailable: every node has NetworkUnavailable=False and the
// agent's annotation.
func CheckNodesNetworkAvailable(t *testing.T, c *Cluster) {
	for _, n := range c.Nodes {
		node, err := c.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: %v", n.Name, err)
			continue
		}
		st, why := NodeCondition(node, corev1.NodeNetworkUnavailable)
		if st != corev1.ConditionFalse {
			t.Errorf("%s: NetworkUnavailable=%s (%s), want False", n.Name, st, why)
		} else {
			t.Logf("%s: NetworkUnavailable=False (%s)", n.Name, why)
		}
		if a := node.Annotations[nodeinfo.AnnotationKey]; a == "" {
			t.Errorf("%s: no %s annotation", n.Name, nodeinfo.AnnotationKey)
		}
	}
}

// CheckPodToPod: every web pod reaches every other one by ICMP, TCP, UDP and
// HTTP, and the HTTP server sees the client's pod IP (no SNAT between pods).
func CheckPodToPod(t *testing.T, c *Cluster, pods []Pod) {
	for _, a := range pods {
		var targets []string
		for _, b := range pods {
			if a.Name == b.Name {
				continue
			}
			for _, ip := range b.IPs {
				targets = append(targets, "icmp:"+ip, "tcp:"+hostPort(ip, 9000), "udp:"+hostPort(ip, 9001), "http://"+hostPort(ip, 8080)+"/")
			}
		}
		lines, err := c.Probe(a.Name, targets...)
		if err != nil {
			t.Errorf("from %s (%s on %s): %v", a.Name, a.IP, a.Node, err)
		}
		for _, l := range lines {
			f := strings.Fields(l)
			switch {
			case len(f) < 2 || f[0] != "OK":
				t.Errorf("from %s on %s: %s", a.Name, a.Node, l)
			case strings.HasPrefix(f[1], "http") && (len(f) < 4 || f[3] != a.IPOfFamily(f[3])):
				t.Errorf("from %s on %s: %s: server saw source %v, want the pod IP %v (pod-to-pod must not be masqueraded)", a.Name, a.Node, f[1], f[3:], a.IPs)
			}
		}
		t.Logf("%s (%s) -> %d pods on other nodes: %d probes (ICMP, TCP, UDP, HTTP per address)", a.Node, strings.Join(a.IPs, ","), len(pods)-1, len(targets))
	}
}

// CheckService: from each web pod, 8 requests per backend to the ClusterIP
// Service reach backends on every node (kube-proxy DNAT to remote pods).
func CheckService(t *testing.T, c *Cluster, pods []Pod) {
	ip, err := c.Kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for i := 0; i < 8*len(pods); i++ {
		targets = append(targets, "http://"+ip+"/")
	}
	targets = append(targets, "tcp:"+hostPort(ip, 9000), "udp:"+hostPort(ip, 9001))
	want := map[string]bool{}
	for _, p := range pods {
		want[p.Node] = true
	}
	for _, a := range pods {
		// kube-proxy on a's node may not have synced the newest endpoints
		// yet (they just became ready): a few rounds before calling it.
		var lines []string
		var err error
		seen := map[string]int{}
		for round := 0; round < 5 && (round == 0 || err != nil || len(seen) < len(want)); round++ {
			if round > 0 {
				time.Sleep(time.Second)
			}
			if lines, err = c.Probe(a.Name, targets...); err != nil {
				continue // e.g. "connection refused": no endpoints synced yet
			}
			for _, l := range lines {
				if f := strings.Fields(l); len(f) >= 3 && strings.HasPrefix(f[1], "http") {
					seen[f[2]]++
				}
			}
		}
		if err != nil {
			t.Errorf("from %s: %v: %s", a.Name, err, strings.Join(lines, "\n"))
			continue
		}
		if len(seen) != len(want) {
			t.Errorf("from %s on %s: Service %s reached %v, want every node %v", a.Name, a.Node, ip, seen, keys(want))
		} else {
			t.Logf("from %s: Service %s (HTTP, TCP, UDP) reached backends %v", a.Node, ip, seen)
		}
	}
}

// CheckAPIServer: every pod reaches the API server through the kubernetes
// Service (10.96.0.1:443, kube-proxy DNAT, then the node's masquerade).
func CheckAPIServer(t *testing.T, c *Cluster, pods []Pod) {
	for _, a := range pods {
		if lines, err := c.Probe(a.Name, "dial:10.96.0.1:443"); err != nil {
			t.Errorf("from %s on %s: %v %v", a.Name, a.Node, err, lines)
		}
	}
}

// CheckMasquerade: pods reach a server outside the cluster (the internet
// namespace, which has no route to pod CIDRs) and it sees the node's IP.
func CheckMasquerade(t *testing.T, c *Cluster, pods []Pod, servers ...string) {
	for _, a := range pods {
		for _, server := range servers {
			if a.IPOfFamily(server) != "" {
				checkMasqueradeOne(t, c, a, server)
			}
		}
	}
}

func checkMasqueradeOne(t *testing.T, c *Cluster, a Pod, server string) {
	{
		lines, err := c.Probe(a.Name, "http://"+hostPort(server, 8080)+"/")
		if err != nil {
			t.Errorf("from %s on %s to %s: %v %v", a.Name, a.Node, server, err, lines)
			return
		}
		f := strings.Fields(lines[0])
		nodeIP := c.Node(a.Node).IP
		if strings.Contains(server, ":") {
			nodeIP = c.Node(a.Node).IPv6
		}
		if len(f) < 4 || f[3] != nodeIP {
			t.Errorf("from %s on %s: outside server saw %v, want the node IP %s (masquerade)", a.Name, a.Node, f, nodeIP)
		} else {
			t.Logf("%s -> %s: seen as %s (masqueraded to the node IP)", a.Node, server, f[3])
		}
	}
}

func hostPort(ip string, port int) string {
	if strings.Contains(ip, ":") {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// waitFor polls f until it returns nil or timeout passes.
func waitFor(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// CheckAgentRBAC asks the API server (Node,RBAC) what the agent's
// ServiceAccount may do: exactly what the manifest grants, nothing more.
// Its writes go through nodes/status only (issue 11: the admission policy
// then narrows them to its own Node), and Events only in "default".
func CheckAgentRBAC(t *testing.T, c *Cluster) {
	sa := "system:serviceaccount:" + AgentNamespace + ":offload-overlay"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "nodes", "-A"}, "yes"},
		{[]string{"patch", "nodes", "--subresource=status", "-A"}, "yes"},
		{[]string{"create", "events", "-n", "default"}, "yes"},
		{[]string{"patch", "nodes", "-A"}, "no"},
		{[]string{"update", "nodes", "--subresource=status", "-A"}, "no"},
		{[]string{"delete", "nodes", "-A"}, "no"},
		{[]string{"create", "events", "-n", AgentNamespace}, "no"},
		{[]string{"list", "secrets", "-A"}, "no"},
		{[]string{"create", "pods", "-A"}, "no"},
		{[]string{"get", "configmaps", "-A"}, "no"},
	} {
		out, _ := c.Kubectl(append([]string{"auth", "can-i", "--as=" + sa}, tc.args...)...)
		if got := strings.TrimSpace(out); got != tc.want {
			t.Errorf("agent ServiceAccount can-i %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}
