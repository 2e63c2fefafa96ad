package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// Bad flags exit 2 before anything touches the API or the kernel; -h exits 0.
func TestRunAndCleanupFlagErrors(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	cases := []struct {
		name string
		run  func([]string) int
		args []string
		want int
	}{
		{"run without node name", runAgent, nil, 2},
		{"run bad vni", runAgent, []string{"--node-name", "n", "--vni", "0"}, 2},
		{"run bad mode", runAgent, []string{"--node-name", "n", "--mode", "ipip"}, 2},
		{"run help", runAgent, []string{"-h"}, 0},
		{"cleanup relative state dir", runCleanup, []string{"--state-dir", "rel"}, 2},
		{"cleanup unknown flag", runCleanup, []string{"--bogus"}, 2},
		{"cleanup help", runCleanup, []string{"-h"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.run(tc.args); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
		})
	}
}

// cleanup of a node where the agent never ran succeeds and removes a stale
// state file (runs in a throwaway netns as root: it deletes routes/devices
// of this namespace only).
func TestCleanupInFreshNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	if err := state.Write(dir, &state.NodeState{Node: "n", PodCIDRs: []string{"10.244.1.0/24"}}); err != nil {
		t.Fatal(err)
	}
	withNewNetns(t, func() {
		if got := runCleanup([]string{"--state-dir", dir}); got != 0 {
			t.Fatalf("cleanup exit %d", got)
		}
	})
	if _, err := os.Stat(filepath.Join(dir, state.FileName)); !os.IsNotExist(err) {
		t.Fatalf("state file not removed: %v", err)
	}
}

// withNewNetns runs f on a thread inside a fresh network namespace.
func withNewNetns(t *testing.T, f func()) {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(); _ = testutils.UnmountNS(n) })
	if err := n.Do(func(ns.NetNS) error { f(); return nil }); err != nil {
		t.Fatal(err)
	}
}

// An agent that fails (here: its kubeconfig does not exist) leaves the
// node state not ready with its error, so the plugin refuses new pods; a
// ready state it finds without a clean-stop mark (a crash) is turned not
// ready at start.
func TestRunFailureMarksNotReady(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	dir := t.TempDir()
	if err := state.Write(dir, &state.NodeState{Node: "n", Ready: true, MTU: 1450}); err != nil {
		t.Fatal(err)
	}
	if got := runAgent([]string{"--node-name", "n", "--kubeconfig", filepath.Join(dir, "missing"), "--state-dir", dir}); got != 1 {
		t.Fatalf("exit %d, want 1", got)
	}
	s, err := state.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ready || !strings.HasPrefix(s.Reason, "agent exited: ") || !strings.Contains(s.Reason, "missing") {
		t.Fatalf("state after a failed run: ready %v reason %q", s.Ready, s.Reason)
	}
}
