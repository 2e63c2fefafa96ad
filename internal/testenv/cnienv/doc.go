// Package cnienv runs CNI plugins the way a container runtime does: through
// libcni, as separate processes, inside a throwaway "node" network namespace.
//
// Why a package and not test helpers: the libcni chain tests of the plugin
// and the latency benchmark (e2e/bench/cnilat, reused by the lab) drive the
// same binaries the same way, and a runtime's view (exec, env, stdin,
// result cache, chaining through portmap and bandwidth) is what both must
// measure. In-process calls would hide the exec cost, which is most of a
// CNI ADD.
//
// Each Env has its own host netns (the plugin's "node"), its own CNI bin dir
// (the offload-overlay binary next to the reference plugins built from the
// pinned containernetworking/plugins module), its own host-local dataDir and
// libcni cache dir, so concurrent tests never share state. Every plugin runs
// on a thread locked into the Env's host netns: the exec'd process inherits
// that netns, never the machine's.
package cnienv
