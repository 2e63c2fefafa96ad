// Package attachlock keeps CNI GC from removing an attachment whose ADD is
// still in flight.
//
// GC deletes every host veth and IPAM record of the network that is not
// in the runtime's list of valid attachments. An ADD that runs at the
// same time has a veth (created in parallel with IPAM) or an address
// before it returns, so GC would delete half of a pod being born: the ADD
// then fails or, worse, succeeds with an address released underneath it.
// ADD and DEL take a shared lock for their whole run, GC an exclusive
// one: many ADDs and DELs run in parallel, and GC waits for the ones in
// flight and holds the next ones back until it is done.
//
// The lock is flock(2) on a file in the node state directory, so it spans
// every plugin process on the node and dies with the process that holds
// it (a killed ADD never leaves GC blocked).
// Equivalent to: flock [--shared] /run/offload-overlay/attachments.lock
package attachlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FileName is the lock file in the state directory.
const FileName = "attachments.lock"

// Lock is a held lock; Unlock releases it.
type Lock struct{ f *os.File }

// Shared takes the lock for an ADD or DEL.
func Shared(dir string) (*Lock, error) { return take(dir, unix.LOCK_SH) }

// Exclusive takes the lock for GC.
func Exclusive(dir string) (*Lock, error) { return take(dir, unix.LOCK_EX) }

func take(dir string, how int) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating state dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening attachment lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock (closing the file releases the flock).
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
	}
}
