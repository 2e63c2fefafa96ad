package topo

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// LockDir holds one lock file per prefix.
const LockDir = "/run/offload-overlay-lab/locks"

// Lock takes an exclusive lock on prefix, waiting while another process
// holds it. Up starts by removing everything named prefix*, so two test runs
// on one machine (two `make test` at once) must not share a prefix at the
// same time: with the lock, the second waits instead of destroying the
// first's lab. The lock dies with the process. unlock is idempotent.
func Lock(prefix string) (unlock func(), err error) {
	if err := os.MkdirAll(LockDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", LockDir, err)
	}
	p := filepath.Join(LockDir, prefix+"lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}
