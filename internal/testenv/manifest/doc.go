// Package manifest applies the shipped Kubernetes manifest
// (conf/kubernetes/offload-overlay.yaml), or chosen kinds of it, to a test
// API server, and mints the token the kubelet would mount into the agent's
// pod on a node (a ServiceAccount token bound to a pod, which carries the
// node's name): tests then exercise the RBAC and admission policy users
// get, not a copy of them.
package manifest
