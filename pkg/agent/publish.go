package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
)

// ConditionReason is the NetworkUnavailable=False reason this agent sets,
// the way kubelet-visible CNIs (Calico, Cilium, flannel) name themselves.
const ConditionReason = "OffloadOverlayReady"

// publishFacts writes facts as the annotation on our own Node (JSON merge
// patch of one key: other annotations and fields are untouched). The agent
// never patches any other Node.
// Equivalent to: kubectl patch node $NODE --subresource status --type merge -p '{"metadata":{"annotations":{...}}}'
func publishFacts(ctx context.Context, nodes NodeAPI, node string, f nodeinfo.Facts) error {
	doc, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding node facts: %w", err)
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{nodeinfo.AnnotationKey: string(doc)}},
	})
	if err != nil {
		return fmt.Errorf("encoding annotation patch: %w", err)
	}
	// Through nodes/status: metadata travels with a status patch, and the
	// agent's RBAC has no patch on nodes (conf/kubernetes: least privilege).
	if _, err := nodes.Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}, "status"); err != nil {
		return fmt.Errorf("patching annotation %s on node %s: %w", nodeinfo.AnnotationKey, node, err)
	}
	return nil
}

// setNetworkAvailable sets NetworkUnavailable=False on our Node through the
// nodes/status subresource (strategic merge on the conditions list, keyed
// by type, so kubelet's conditions are kept).
func setNetworkAvailable(ctx context.Context, nodes NodeAPI, node, message string, now time.Time) error {
	cond := corev1.NodeCondition{
		Type:               corev1.NodeNetworkUnavailable,
		Status:             corev1.ConditionFalse,
		Reason:             ConditionReason,
		Message:            message,
		LastTransitionTime: metav1.NewTime(now),
		LastHeartbeatTime:  metav1.NewTime(now),
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.NodeCondition{cond}}})
	if err != nil {
		return fmt.Errorf("encoding condition patch: %w", err)
	}
	if _, err := nodes.PatchStatus(ctx, node, patch); err != nil {
		return fmt.Errorf("setting NetworkUnavailable=False on node %s: %w", node, err)
	}
	return nil
}

const fieldManager = "offload-overlay-agent"

// networkCondition returns our node's NetworkUnavailable condition, if any.
func networkCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeNetworkUnavailable {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}
