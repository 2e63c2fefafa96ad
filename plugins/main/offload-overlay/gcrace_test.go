package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/offload-overlay/offload-overlay/internal/testenv/cnienv"
	"github.com/offload-overlay/offload-overlay/pkg/attachlock"
)

// TestGCWaitsForAddInFlight: an ADD is held inside its IPAM call (a
// wrapper around host-local that waits for a gate file) with its veth
// being built; a GC that names no valid attachment starts meanwhile. GC
// must block on the attachment lock (seen in /proc/locks, no timing)
// and not return before the ADD did; the ADD then completes whole.
func TestGCWaitsForAddInFlight(t *testing.T) {
	env := newEnv(t)
	gate := filepath.Join(t.TempDir(), "gate")
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n  touch %[1]s.entered\n  while [ ! -e %[1]s ]; do sleep 0.02; done\nfi\nexec %[2]s \"$@\"\n",
		gate, filepath.Join(env.BinDir, "host-local"))
	if err := os.WriteFile(filepath.Join(env.BinDir, "slow-ipam"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	raw := fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "gcrace", "plugins": [
	  {"type": "offload-overlay", "mtu": 1400, "stateDir": %q,
	   "ipam": {"type": "slow-ipam", "dataDir": %q, "ranges": [[{"subnet": "10.89.0.0/24"}]]}}]}`, stateDir, t.TempDir())
	list, err := libcni.NetworkConfFromBytes([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	podNS, err := cnienv.NewPodNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cnienv.ClosePodNS(podNS) })
	rt := cnienv.RuntimeConf("ctr-inflight", podNS)
	ctx := context.Background()

	addDone, gcDone := make(chan error, 1), make(chan error, 1)
	go func() { _, err := env.Add(ctx, list, rt); addDone <- err }()
	waitFor(t, "ADD to enter IPAM", func() bool { _, err := os.Stat(gate + ".entered"); return err == nil })
	go func() { gcDone <- env.GC(ctx, list, nil) }()
	waitFor(t, "GC to wait on the attachment lock", func() bool {
		select {
		case err := <-gcDone:
			t.Fatalf("GC returned (%v) while an ADD was in flight", err)
		default:
		}
		return lockWaiters(t, filepath.Join(stateDir, attachlock.FileName)) > 0
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-addDone; err != nil {
		t.Fatalf("ADD in flight during GC failed: %v", err)
	}
	if err := <-gcDone; err != nil {
		t.Fatalf("GC after the ADD: %v", err)
	}
	// GC ran after the ADD and, as asked, removed the attachment whole.
	if err := env.Del(ctx, list, rt); err != nil {
		t.Fatalf("DEL after GC: %v", err)
	}
}

// lockWaiters counts processes blocked on path's flock ("->" lines of
// /proc/locks that name its inode).
func lockWaiters(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	f, err := os.Open("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 || fields[1] != "->" {
			continue
		}
		if strings.HasSuffix(fields[6], fmt.Sprintf(":%d", ino)) {
			n++
		}
	}
	return n
}

// waitFor polls cond; the deadline only bounds a failing test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
