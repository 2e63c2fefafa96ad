package attachlock

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestSharedExclusive: shared holders coexist, exclusive waits for them
// (checked with non-blocking attempts, no timing).
func TestSharedExclusive(t *testing.T) {
	dir := t.TempDir()
	a, err := Shared(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Shared(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := take(dir, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		t.Fatal("exclusive lock taken while ADDs hold it shared")
	}
	a.Unlock()
	b.Unlock()
	gc, err := take(dir, unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		t.Fatalf("exclusive lock after the ADDs ended: %v", err)
	}
	if _, err := take(dir, unix.LOCK_SH|unix.LOCK_NB); err == nil {
		t.Fatal("shared lock taken while GC holds it")
	}
	gc.Unlock()
}
