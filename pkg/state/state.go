// Package state is the contract between the node agent and the CNI plugin.
//
// The agent owns the node: it decides the datapath per peer, the pod MTU and
// whether BIG TCP is safe. The CNI plugin runs once per pod and must stay
// lean (no Kubernetes client), so the agent publishes what the plugin needs
// in one small JSON file under the state directory. The plugin reads it on
// ADD (MTU, pod CIDRs for IPAM, GSO/GRO sizes) and on STATUS (ready or not).
//
// The file is written atomically (temp file + rename) so a reader never sees
// a half-written document.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const (
	// DefaultDir is where the agent writes node state and the plugin reads it.
	DefaultDir = "/run/offload-overlay"
	// FileName is the state file's name inside the state directory.
	FileName = "node-state.json"
	// SchemaVersion is bumped on incompatible changes to NodeState.
	SchemaVersion = 1
)

// NodeState is what the agent knows about this node that pods need.
type NodeState struct {
	// SchemaVersion of this document (SchemaVersion).
	SchemaVersion int `json:"schemaVersion"`
	// AgentVersion is the agent's build version.
	AgentVersion string `json:"agentVersion"`
	// Node is the Kubernetes node name.
	Node string `json:"node"`
	// Ready is true once the agent converged the datapath at least once.
	Ready bool `json:"ready"`
	// Reason says why the node is not ready (empty when ready).
	Reason string `json:"reason,omitempty"`
	// MTU is the pod MTU: the uplink MTU minus the largest encapsulation
	// overhead in use towards any peer (the full uplink MTU when all are native).
	MTU int `json:"mtu"`
	// PodCIDRs are the node's spec.podCIDRs, at most one per family.
	PodCIDRs []string `json:"podCIDRs"`
	// Modes summarises the datapath: number of peers per mode
	// ("native", "vxlan", "geneve", "unreachable").
	Modes map[string]int `json:"modes,omitempty"`
	// Summary is a one-line human description of the modes in use.
	Summary string `json:"summary,omitempty"`
	// GSOMaxSize and GROMaxSize, when above 65536, enable BIG TCP on pod
	// veths (both IPv6 and IPv4 variants). Set only when every path is native.
	GSOMaxSize int `json:"gsoMaxSize,omitempty"`
	GROMaxSize int `json:"groMaxSize,omitempty"`
	// UpdatedAt is when the agent last wrote the file.
	UpdatedAt time.Time `json:"updatedAt"`
	// StoppedAt is set when the agent that wrote the file stopped cleanly
	// (SIGTERM: an upgrade or a drain), zero while it runs. A ready state
	// without it, found by a starting agent, was left by a process that
	// crashed or was killed (see lifecycle.go).
	StoppedAt time.Time `json:"stoppedAt,omitzero"`
}

// Path returns the state file path inside dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// ErrNotExist is returned by Read when the agent has not written state yet.
var ErrNotExist = errors.New("node state file does not exist")

// Read loads the node state from dir.
func Read(dir string) (*NodeState, error) {
	p := Path(dir)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("reading node state %s: %w", p, err)
	}
	var s NodeState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parsing node state %s: %w", p, err)
	}
	if s.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("node state %s: schemaVersion %d, want %d", p, s.SchemaVersion, SchemaVersion)
	}
	return &s, nil
}

// Write stores s in dir atomically: a temp file in the same directory, fsync,
// then rename over the old file.
func Write(dir string, s *NodeState) error {
	s.SchemaVersion = SchemaVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding node state: %w", err)
	}
	return WriteFileAtomic(dir, FileName, append(b, '\n'))
}

// WriteFileAtomic stores b as dir/name so that a reader sees either the old
// or the new content, never a half-written file: a temp file in the same
// directory, fsync, chmod 0644, then rename over the old file.
func WriteFileAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating state dir %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("creating temp file for %s: %w", name, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("renaming %s into place: %w", tmp, err)
	}
	ok = true
	return nil
}

// Remove deletes the state file; a missing file is not an error.
func Remove(dir string) error {
	err := os.Remove(Path(dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing node state: %w", err)
	}
	return nil
}
