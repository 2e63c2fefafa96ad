// Package policy tests the shipped manifest's access control against a real
// kube-apiserver (Node,RBAC authorization, its built-in admission, the
// manifest's ValidatingAdmissionPolicy): an agent token bound to a pod on
// node A may write its own annotation and NetworkUnavailable condition on
// node A and nothing else. The manifest is read from
// conf/kubernetes/offload-overlay.yaml (internal/testenv/manifest), so the
// test checks the file users apply, not a copy.
package policy
