package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/internal/testenv/manifest"
	"github.com/offload-overlay/offload-overlay/pkg/agent"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// TestAgentUnderAdmissionPolicy: the agent, authenticated as the kubelet
// would mount it (a token bound to its pod on node-a) and restricted by the
// shipped manifest's RBAC and ValidatingAdmissionPolicy, converges: it
// publishes its annotation and sets NetworkUnavailable=False through
// nodes/status, and records Events.
func TestAgentUnderAdmissionPolicy(t *testing.T) {
	needRoot(t)
	env := k8senv.Start(t, k8senv.Options{})
	l := newLab(t)
	l.env = env
	var err error
	if l.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
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
	ctx := context.Background()
	if err := manifest.Apply(ctx, dc, objs, "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
		"Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"); err != nil {
		t.Fatal(err)
	}
	l.createNode(t, "node-a", "", []string{"192.168.77.1"}, "10.244.1.0/24")
	token, err := manifest.NodeToken(ctx, l.admin, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	rc := rest.AnonymousClientConfig(env.Config)
	rc.BearerToken = token
	cs, err := coreapi.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	nsA, err := nsOf(l.a)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := &config.Config{NodeName: "node-a", StateDir: stateDir, VNI: 1, VXLANPort: 4789,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		Decision:     decision.Config{Mode: decision.ModeAuto}, ResyncPeriod: time.Hour, ProbePeriod: time.Hour}
	startAgent(t, cs, cfg, nsA, nil, slog.New(slog.NewTextHandler(io.MultiWriter(&syncBuffer{}, testWriter{t}), nil)), false)
	waitFor(t, 30*time.Second, "annotation and condition written under the policy", func() (bool, string) {
		n, err := l.admin.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s, _ := state.Read(stateDir)
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeNetworkUnavailable && c.Status == corev1.ConditionFalse && c.Reason == agent.ConditionReason &&
				n.Annotations[nodeinfo.AnnotationKey] != "" && s != nil && s.Ready {
				return true, ""
			}
		}
		return false, fmt.Sprintf("annotations %v conditions %+v state %+v", n.Annotations, n.Status.Conditions, s)
	})
	// Once the policy is enforced (compiled asynchronously: another Node is
	// refused), the agent's own writes still pass: its annotation, removed
	// by an admin, comes back.
	l.createNode(t, "node-b", "", []string{"192.168.77.5"}, "10.244.2.0/24")
	patch := []byte(`{"metadata":{"annotations":{"offload-overlay.io/node":"{}"}}}`)
	waitFor(t, 60*time.Second, "policy enforced on node-b", func() (bool, string) {
		_, err := cs.Nodes().Patch(ctx, "node-b", types.MergePatchType, patch, metav1.PatchOptions{}, "status")
		return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy"), fmt.Sprint(err)
	})
	l.patchNode(t, "node-a", map[string]any{"metadata": map[string]any{"annotations": map[string]any{nodeinfo.AnnotationKey: nil}}})
	waitFor(t, 30*time.Second, "annotation republished under the enforced policy", func() (bool, string) {
		n, err := l.admin.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
		return err == nil && n.Annotations[nodeinfo.AnnotationKey] != "", fmt.Sprint(err)
	})
}
