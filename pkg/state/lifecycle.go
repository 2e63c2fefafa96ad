package state

import (
	"errors"
	"fmt"
	"time"
)

// Why the state file records how the agent stopped: the plugin admits a
// pod only while the state says ready (config.AdmitAdd). An agent that is
// upgraded (SIGTERM) leaves the datapath in place and the state ready, so
// pods keep coming during the restart. An agent that crashes leaves the
// same ready state behind, and a crash-looping agent would keep admitting
// pods onto a datapath nobody repairs. The agent therefore marks a clean
// stop (MarkStopped), and a starting agent that finds a ready state
// without that mark turns it not ready (AfterRestart) until it converges
// again; an agent that fails marks the state not ready on its way out
// (MarkNotReady). What remains uncovered is the window between a crash
// and the next start (the kubelet's restart back-off), during which the
// previous ready state still admits pods.

// CrashReason is the not-ready reason AfterRestart records.
const CrashReason = "the previous agent process ended without a clean stop (crash, OOM kill or failed start); waiting for this one to converge"

// MarkNotReady rewrites the state in dir as not ready with reason, keeping
// the rest (pod CIDRs name the probe addresses `cleanup` removes); without
// a state file it writes a minimal one.
func MarkNotReady(dir, node, reason string) error {
	s, err := Read(dir)
	if err != nil { // missing or unreadable: replace it with a minimal one
		s = &NodeState{Node: node}
	}
	s.Ready, s.Reason, s.StoppedAt, s.UpdatedAt = false, reason, time.Time{}, time.Now().UTC()
	if err := Write(dir, s); err != nil {
		return fmt.Errorf("marking node state not ready: %w", err)
	}
	return nil
}

// MarkStopped records a clean stop in the state file; a missing file is
// left missing.
func MarkStopped(dir string) error {
	s, err := Read(dir)
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	s.StoppedAt = time.Now().UTC()
	if err := Write(dir, s); err != nil {
		return fmt.Errorf("marking node state stopped: %w", err)
	}
	return nil
}

// AfterRestart runs when an agent starts: a ready state without a clean
// stop mark was left by a crashed process and becomes not ready
// (CrashReason). It reports whether it changed the state.
func AfterRestart(dir, node string) (bool, error) {
	s, err := Read(dir)
	if errors.Is(err, ErrNotExist) {
		return false, nil
	}
	if err == nil && (!s.Ready || !s.StoppedAt.IsZero()) {
		return false, nil
	}
	return true, MarkNotReady(dir, node, CrashReason)
}
