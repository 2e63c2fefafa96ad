package k8senv_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
)

// TestStartCreateNode starts a real control plane, creates a Node with a pod
// CIDR and an annotation and reads it back, through client-go and kubectl.
func TestStartCreateNode(t *testing.T) {
	env := k8senv.Start(t, k8senv.Options{})
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "selftest", Annotations: map[string]string{"offload-overlay.io/node": `{"v":1}`}},
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating node: %v", err)
	}
	got, err := cs.CoreV1().Nodes().Get(ctx, "selftest", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading node back: %v", err)
	}
	if got.Spec.PodCIDR != "10.244.1.0/24" || got.Annotations["offload-overlay.io/node"] != `{"v":1}` {
		t.Fatalf("node read back differs: podCIDR %q annotations %v", got.Spec.PodCIDR, got.Annotations)
	}
	out, err := exec.Command(k8senv.Bin("kubectl"), "--kubeconfig", env.Kubeconfig, "get", "node", "selftest", "-o", "jsonpath={.spec.podCIDR}").CombinedOutput()
	if err != nil || string(out) != "10.244.1.0/24" {
		t.Fatalf("kubectl get node: %q %v", out, err)
	}
}

// TestRBACEnforced checks that Node,RBAC is really on: an identity with no
// role binding is forbidden to list nodes.
func TestRBACEnforced(t *testing.T) {
	nobody := k8senv.RandomToken()
	env := k8senv.Start(t, k8senv.Options{Tokens: []k8senv.Token{{Token: nobody, User: "nobody", UID: "nobody"}}})
	cfg := *env.Config
	cfg.BearerToken = nobody
	cs, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err == nil {
		t.Fatal("listing nodes as an unbound user succeeded; RBAC is not enforced")
	}
	t.Logf("as expected: %v", err)
}
