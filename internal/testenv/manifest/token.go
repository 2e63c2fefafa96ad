package manifest

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Namespace and ServiceAccount of the agent in the manifest.
const (
	Namespace      = "offload-overlay"
	ServiceAccount = "offload-overlay"
)

// Path is the manifest's path in this repository.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "conf", "kubernetes", "offload-overlay.yaml")
}

// NodeToken creates a pod of the agent's ServiceAccount bound to node (as
// the DaemonSet would) and returns a token bound to that pod: the API
// server puts the node's name into the token's user info, which the
// manifest's admission policy checks. The Node must exist.
func NodeToken(ctx context.Context, admin kubernetes.Interface, node string) (string, error) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agent-" + node, Namespace: Namespace},
		Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: ServiceAccount,
			Containers: []corev1.Container{{Name: "agent", Image: "offload-overlay:test"}}}}
	pod, err := admin.CoreV1().Pods(Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating the agent pod on %s: %w", node, err)
	}
	tr, err := admin.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, ServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token bound to pod %s: %w", pod.Name, err)
	}
	return tr.Status.Token, nil
}
