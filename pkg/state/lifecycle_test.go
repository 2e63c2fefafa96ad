package state

import (
	"testing"
	"time"
)

// TestLifecycle: a clean stop keeps a ready state ready across a restart
// (upgrades keep admitting pods); a ready state left by a crash becomes
// not ready when the next agent starts; a failing agent leaves it not
// ready with its error; the rest of the state is kept.
func TestLifecycle(t *testing.T) {
	ready := func(t *testing.T) string {
		dir := t.TempDir()
		if err := Write(dir, &NodeState{Node: "n1", Ready: true, MTU: 1450, PodCIDRs: []string{"10.244.1.0/24"}, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	read := func(t *testing.T, dir string) *NodeState {
		s, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("clean stop, restart", func(t *testing.T) {
		dir := ready(t)
		if err := MarkStopped(dir); err != nil {
			t.Fatal(err)
		}
		if marked, err := AfterRestart(dir, "n1"); err != nil || marked {
			t.Fatalf("AfterRestart = %v, %v; want untouched", marked, err)
		}
		if s := read(t, dir); !s.Ready {
			t.Fatalf("ready state lost over a clean restart: %+v", s)
		}
	})
	t.Run("crash, restart", func(t *testing.T) {
		dir := ready(t)
		if marked, err := AfterRestart(dir, "n1"); err != nil || !marked {
			t.Fatalf("AfterRestart = %v, %v; want marked", marked, err)
		}
		s := read(t, dir)
		if s.Ready || s.Reason != CrashReason || s.MTU != 1450 || len(s.PodCIDRs) != 1 {
			t.Fatalf("after a crash: %+v", s)
		}
		// A crash loop: every start finds it not ready and leaves it so.
		if marked, err := AfterRestart(dir, "n1"); err != nil || marked {
			t.Fatalf("second AfterRestart = %v, %v", marked, err)
		}
	})
	t.Run("failed run", func(t *testing.T) {
		dir := ready(t)
		if err := MarkNotReady(dir, "n1", "agent exited: boom"); err != nil {
			t.Fatal(err)
		}
		if s := read(t, dir); s.Ready || s.Reason != "agent exited: boom" {
			t.Fatalf("after a failed run: %+v", s)
		}
	})
	t.Run("no state", func(t *testing.T) {
		dir := t.TempDir()
		if err := MarkStopped(dir); err != nil {
			t.Fatal(err)
		}
		if marked, err := AfterRestart(dir, "n1"); err != nil || marked {
			t.Fatalf("AfterRestart without a file = %v, %v", marked, err)
		}
		if err := MarkNotReady(dir, "n1", "x"); err != nil {
			t.Fatal(err)
		}
		if s := read(t, dir); s.Ready || s.Node != "n1" {
			t.Fatalf("minimal state: %+v", s)
		}
	})
}
