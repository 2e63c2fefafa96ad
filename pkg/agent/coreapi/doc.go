// Package coreapi is the node agent's Kubernetes client: Nodes (list,
// watch, patch) and Events, over client-go's REST client with a scheme
// that registers core/v1 alone.
//
// Why not client-go's typed core/v1 client: every typed client of
// k8s.io/client-go/kubernetes imports k8s.io/client-go/kubernetes/scheme,
// whose init registers all 57 built-in API groups, and the apply
// configurations of every kind. A DaemonSet pod on every node paid for
// that with a third more binary (file-backed pages that stay resident once
// the init code has run) and the allocations of the registration. The
// agent needs five calls on two kinds; this package makes them with the
// same REST client, content negotiation (protobuf reads, JSON writes),
// rate limits and authentication as the typed client, and its method sets
// match client-go's NodeInterface and record.EventSink, so a caller can
// pass either.
//
// The agent binary is checked to link no other API group (make lint).
package coreapi
