// Package kind runs the cluster e2e's kubectl-only checks against a kind
// cluster that e2e/kind/run.sh created and installed offload-overlay on.
// Without OO_KIND_KUBECONFIG it skips (there is no kind cluster).
package kind

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/cluster"
)

func TestKind(t *testing.T) {
	kc := os.Getenv("OO_KIND_KUBECONFIG")
	if kc == "" {
		t.Skip("no kind cluster: run e2e/kind/run.sh (needs docker and kind)")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "--kubeconfig", kc, "get", "nodes", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address} {.spec.taints[*].effect}{"\n"}{end}`).Output()
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	workers := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		ips[f[0]] = f[1]
		if !strings.Contains(l, "NoSchedule") {
			workers++
		}
	}
	c := cluster.Remote(t, kubectl, kc, ips)
	if err := c.Apply(cluster.WebManifest(workers)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Kubectl("delete", "deploy/web", "svc/web", "--wait=false") })
	if err := c.WaitPodsReady("app=web", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	pods, err := c.Pods("app=web")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("pod-to-pod", func(t *testing.T) { cluster.CheckPodToPod(t, c, pods) })
	t.Run("service", func(t *testing.T) { cluster.CheckService(t, c, pods) })
	t.Run("apiserver", func(t *testing.T) { cluster.CheckAPIServer(t, c, pods) })
}
