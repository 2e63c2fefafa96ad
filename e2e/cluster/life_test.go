package cluster

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var errLeft = errors.New("leftovers")

// checkRestarts: a pod keeps one TCP connection to a pod on another node
// while the remote node's containerd restarts and the DaemonSet is rolled.
func checkRestarts(t *testing.T, c *Cluster, pods []Pod) {
	from, to := c.Node(pods[0].Node), pods[1]
	h, err := c.StartHolder("holder", from, hostPort(to.IP, 9000))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := h.Status()
	remote := c.Node(to.Node)
	remote.StopContainerd()
	if err := remote.StartContainerd(); err != nil {
		t.Fatal(err)
	}
	n = CheckStillHolding(t, h, n, "restarting containerd on "+remote.Name)
	if _, err := c.Kubectl("-n", AgentNamespace, "rollout", "restart", "ds/"+AgentDaemonSet); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // let the controller see the new template
	if err := c.WaitInstalled(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	CheckStillHolding(t, h, n, "kubectl rollout restart of the DaemonSet")
	CheckPodToPod(t, c, pods)
}

// checkNodeRemoveAdd: removing a node (kubectl delete node, its namespaces
// gone) removes its routes, FDB entries and neighbours from every other node;
// adding a node converges everyone.
func checkNodeRemoveAdd(t *testing.T, c *Cluster) {
	victim := c.Nodes[len(c.Nodes)-1]
	cidrs, err := c.PodCIDRs(victim.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveNode(victim); err != nil {
		t.Fatal(err)
	}
	// its network namespace goes too (with its uplink)
	if out, err := exec.Command("ip", "netns", "del", victim.Netns).CombinedOutput(); err != nil {
		t.Errorf("ip netns del %s: %v %s", victim.Netns, err, out)
	}
	prefix := strings.TrimSuffix(strings.SplitN(cidrs[0], "/", 2)[0], "0")
	for _, n := range c.Nodes {
		var found []string
		err := waitFor(30*time.Second, func() error {
			found = nil
			for _, cmd := range [][]string{{"ip", "route"}, {"ip", "neigh"}, {"bridge", "fdb", "show"}} {
				out, err := n.Exec(cmd...)
				if err != nil {
					return err
				}
				for _, l := range strings.Split(out, "\n") {
					if strings.Contains(l, prefix) || strings.Contains(l, victim.IP+" ") {
						found = append(found, strings.Join(cmd, " ")+": "+l)
					}
				}
			}
			if len(found) > 0 {
				return errLeft
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s still has state for removed %s (%s, %s): %v", n.Name, victim.Name, victim.IP, cidrs[0], found)
		} else {
			t.Logf("%s: no route, neighbour or FDB entry left for %s", n.Name, victim.Name)
		}
	}

	// add n5 (deferred at Up) and check it converges with everyone
	added, err := c.AddNode("n5")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitPodCIDRs(time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitInstalled(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	CheckModes(t, c, labPrediction(c.Topo))
	if err := c.Apply(podManifest("newcomer", added.Name, []string{"serve"}, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kubectl("wait", "--for=condition=Ready", "pod/newcomer", "--timeout=60s"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kubectl("rollout", "status", "deploy/web", "--timeout=120s"); err != nil {
		t.Fatal(err)
	}
	pods, err := c.Pods("app=web")
	if err != nil {
		t.Fatal(err)
	}
	newcomer, err := c.Pods("e2e=single")
	if err != nil {
		t.Fatal(err)
	}
	var live []Pod
	for _, p := range append(pods, newcomer...) {
		if c.Node(p.Node) != nil && (p.Name == "newcomer" || strings.HasPrefix(p.Name, "web-")) {
			live = append(live, p)
		}
	}
	CheckPodToPod(t, c, live)
}

// checkUninstall: kubectl delete -f the manifest, then the agent's cleanup
// and removal of the installed CNI files on every node (what the README tells
// an operator to do) leave each node's network as it was before the install.
func checkUninstall(t *testing.T, c *Cluster, before map[string]string) {
	if _, err := c.Kubectl("delete", "-f", filepath.Join(c.opts.Repo, ManifestPath), "--wait=true", "--timeout=120s"); err != nil {
		t.Fatal(err)
	}
	agent := filepath.Join(c.opts.Repo, "bin", "offload-overlay-agent")
	for _, n := range c.Nodes {
		if out, err := n.Exec(agent, "cleanup"); err != nil {
			t.Errorf("%s: offload-overlay-agent cleanup: %v %s", n.Name, err, out)
		}
		n.Exec("rm", "-f", "/etc/cni/net.d/10-offload-overlay.conflist", "/opt/cni/bin/offload-overlay")
		was, ok := before[n.Name]
		if !ok {
			continue // added after the install
		}
		now, err := n.NetSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		if d := diffLines(was, now); d != "" {
			t.Errorf("%s differs from before the install:\n%s", n.Name, d)
		} else {
			t.Logf("%s: links, routes, neighbours, rules and iptables as before the install", n.Name)
		}
	}
}

func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var d []string
	for _, l := range strings.Split(a, "\n") {
		if !mb[l] {
			d = append(d, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ma[l] {
			d = append(d, "+ "+l)
		}
	}
	return strings.Join(d, "\n")
}
