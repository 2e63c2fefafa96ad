// Package config parses the node agent's flags.
//
// The agent runs as a DaemonSet, where settings arrive as container args or
// environment variables (NODE_NAME comes from the downward API, KUBECONFIG is
// usually unset so the in-cluster service account is used). Every flag
// therefore has an environment fallback, and an explicit flag always wins.
//
// Parsing is pure: Parse takes the argument list and a getenv function and
// returns either a validated Config or an error that names the flag and the
// bad value, so that a typo in a DaemonSet manifest fails the pod at start
// ("--vni: 16777216 out of range 1..16777215") instead of producing a node
// that silently routes nothing. Defaults first, then flags, then validation,
// then derived values, the same order the CNI config parser follows.
package config
