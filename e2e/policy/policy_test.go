package policy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/internal/testenv/manifest"
)

const (
	namespace = manifest.Namespace
	sa        = manifest.ServiceAccount
)

// agentClient applies the manifest's RBAC and policy, creates nodes a and
// b, a pod of the agent's ServiceAccount bound to node a, and returns a
// client authenticated with a token bound to that pod (the token the
// kubelet would mount: it carries node a's name in userInfo.extra).
func agentClient(t *testing.T) (env *k8senv.Env, admin, agent kubernetes.Interface) {
	env = k8senv.Start(t, k8senv.Options{})
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Objects(manifest.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Apply(ctx, dc, objs, "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
		"Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node-a", "node-b"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.1.0/24"}}}
		created, err := admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.77.1"}}
		created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady"}}
		if _, err := admin.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	token, err := manifest.NodeToken(ctx, admin, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	agent = withToken(t, env, token)
	waitPolicy(t, agent)
	return env, admin, agent
}

func withToken(t *testing.T, env *k8senv.Env, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = token
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// waitPolicy waits until the API server enforces the policy (it compiles
// policies asynchronously after they are created).
func waitPolicy(t *testing.T, agent kubernetes.Interface) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := patchStatus(agent, "node-b", annotation("offload-overlay.io/node", `{"probe":1}`))
		if err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy not enforced: patching node-b: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func patchStatus(cs kubernetes.Interface, node string, patch map[string]any) (*corev1.Node, error) {
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	return cs.CoreV1().Nodes().Patch(context.Background(), node, types.StrategicMergePatchType, b, metav1.PatchOptions{}, "status")
}

func annotation(k, v string) map[string]any {
	return map[string]any{"metadata": map[string]any{"annotations": map[string]string{k: v}}}
}

func condition(typ corev1.NodeConditionType, status corev1.ConditionStatus) map[string]any {
	return map[string]any{"status": map[string]any{"conditions": []corev1.NodeCondition{{
		Type: typ, Status: status, Reason: "OffloadOverlayReady", LastTransitionTime: metav1.Now()}}}}
}

// TestAgentOwnNodeOnly: the manifest's RBAC and admission policy, as the
// API server enforces them for an agent token bound to a pod on node-a.
func TestAgentOwnNodeOnly(t *testing.T) {
	_, admin, agent := agentClient(t)
	ctx := context.Background()
	allowed := []struct {
		name  string
		node  string
		patch map[string]any
	}{
		{"own annotation on own node", "node-a", annotation("offload-overlay.io/node", `{"v":1}`)},
		{"own NetworkUnavailable condition", "node-a", condition(corev1.NodeNetworkUnavailable, corev1.ConditionFalse)},
	}
	for _, tc := range allowed {
		if _, err := patchStatus(agent, tc.node, tc.patch); err != nil {
			t.Errorf("%s: denied: %v", tc.name, err)
		}
	}
	a, err := admin.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Annotations["offload-overlay.io/node"] != `{"v":1}` {
		t.Errorf("annotation written through nodes/status not stored: %v", a.Annotations)
	}

	denied := []struct {
		name, node string
		patch      map[string]any
		want       string // in the error
	}{
		{"annotation on another node", "node-b", annotation("offload-overlay.io/node", `{"v":1}`), "only the Node its pod runs on"},
		{"condition on another node", "node-b", condition(corev1.NodeNetworkUnavailable, corev1.ConditionFalse), "only the Node its pod runs on"},
		{"foreign annotation on own node", "node-a", annotation("node.alpha.kubernetes.io/ttl", "0"), "only annotations under offload-overlay.io/"},
		{"label on own node", "node-a", map[string]any{"metadata": map[string]any{"labels": map[string]string{"node-role.kubernetes.io/control-plane": ""}}}, "labels"},
		{"addresses of own node", "node-a", map[string]any{"status": map[string]any{"addresses": []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.66"}}}}, "only the NetworkUnavailable condition"},
		{"Ready condition of own node", "node-a", condition(corev1.NodeReady, corev1.ConditionTrue), "only the NetworkUnavailable condition"},
		{"capacity of own node", "node-a", map[string]any{"status": map[string]any{"capacity": map[string]string{"pods": "1000"}}}, "only the NetworkUnavailable condition"},
	}
	for _, tc := range denied {
		_, err := patchStatus(agent, tc.node, tc.patch)
		if err == nil || !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want denied with %q", tc.name, err, tc.want)
		}
	}

	// RBAC: no patch on nodes (main resource), no Node create/delete, no
	// Events outside "default".
	b, _ := json.Marshal(annotation("offload-overlay.io/node", `{"v":2}`))
	if _, err := agent.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, b, metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("patch of nodes (not status): got %v, want forbidden", err)
	}
	if err := agent.CoreV1().Nodes().Delete(ctx, "node-b", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete node-b: got %v, want forbidden", err)
	}
	for ns, ok := range map[string]bool{"default": true, "kube-system": false} {
		ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-a.", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-a"}, Reason: "PeerUnreachable", Type: corev1.EventTypeWarning}
		_, err := agent.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
		if (err == nil) != ok {
			t.Errorf("event in %s: got %v, want allowed=%v", ns, err, ok)
		}
	}
	for _, n := range []string{"node-a", "node-b"} {
		got, err := admin.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Labels["node-role.kubernetes.io/control-plane"]; ok || got.Status.Addresses[0].Address != "192.168.77.1" {
			t.Errorf("%s changed by a denied request: labels %v, addresses %v", n, got.Labels, got.Status.Addresses)
		}
	}
}

// TestTokenWithoutNode: a token of the agent's ServiceAccount not bound to
// a pod (no node name in it) changes no Node at all.
func TestTokenWithoutNode(t *testing.T) {
	env, admin, _ := agentClient(t)
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs := withToken(t, env, tr.Status.Token)
	_, err = patchStatus(cs, "node-a", annotation("offload-overlay.io/node", `{"v":3}`))
	if err == nil || !strings.Contains(err.Error(), "only the Node its pod runs on") {
		t.Fatalf("unbound token: got %v, want denied", err)
	}
}
