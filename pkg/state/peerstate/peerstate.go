package peerstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

const (
	// FileName is the peers file's name inside the agent's state directory.
	FileName = "peers.json"
	// SchemaVersion is bumped on incompatible changes to File.
	SchemaVersion = 1
)

// File is the whole peers document.
type File struct {
	SchemaVersion int    `json:"schemaVersion"`
	AgentVersion  string `json:"agentVersion"`
	// Node is this node's name.
	Node string `json:"node"`
	// Config is the agent's decision configuration (--mode, ...).
	Config decision.Config `json:"config"`
	// Peers are sorted by name.
	Peers []Peer `json:"peers"`
	// Ignored are the Nodes not admitted as peers, and why (a malformed
	// or hostile annotation, an endpoint that is not the Node's, ...).
	Ignored []Ignored `json:"ignored,omitempty"`
	// UpdatedAt is when the agent last wrote the file (its content changed).
	UpdatedAt time.Time `json:"updatedAt"`
	// BGP is this node's BGP speaker (absent when BGP is off).
	BGP *BGP `json:"bgp,omitempty"`
}

// BGP is the speaker's state when the agent last wrote the file.
type BGP struct {
	// Announced are this node's pod CIDRs handed to the speaker.
	Announced []string `json:"announced"`
	// Announcing: at least one established session carries them
	// (published as the node's "bgp" fact).
	Announcing bool               `json:"announcing"`
	Sessions   []bgptypes.Session `json:"sessions"`
	// Learnt are the routes learnt from the peers that the import rules
	// (bgptypes.ImportRules) accepted, Rejected the others with the rule
	// that refused them; both empty unless --bgp-import.
	Learnt   []bgptypes.Route    `json:"learnt,omitempty"`
	Rejected []bgptypes.Rejected `json:"rejected,omitempty"`
}

// Peer is one remote node and the agent's decision towards it.
type Peer struct {
	Name     string   `json:"name"`
	NodeIPs  []string `json:"nodeIPs"`
	PodCIDRs []string `json:"podCIDRs"`
	// Mode, MTU, Rule and Reasons are the first path's (IPv4 first): the
	// pair at a glance. Paths has every family.
	Mode    decision.Mode `json:"mode"`
	MTU     int           `json:"mtu"`
	Rule    int           `json:"rule"`
	Reasons []string      `json:"reasons"`
	// Local and Peer are the decision inputs of each end: verdict, tunnel
	// kinds, uplink MTU, native probe (rule 2) and whether its tunnel
	// underlay carries the other's pod CIDR (rule 3), as the agent used them.
	Local decision.Side `json:"local"`
	Peer  decision.Side `json:"peer"`
	Paths []Path        `json:"paths"`
}

// Path is the decision for one address family of a peer.
type Path struct {
	Family  int    `json:"family"`
	NodeIP  string `json:"nodeIP"`
	PodCIDR string `json:"podCIDR"`
	// OnLink: the route to NodeIP had no gateway (rule 1).
	OnLink  bool          `json:"onLink"`
	Mode    decision.Mode `json:"mode"`
	MTU     int           `json:"mtu"`
	Rule    int           `json:"rule"`
	Reasons []string      `json:"reasons"`
	// Failed is the kernel's refusal of this path at its last attempt
	// (the agent programs every other path and retries this one).
	Failed string `json:"failed,omitempty"`
}

// Ignored is a Node the agent did not admit as a peer.
type Ignored struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Input rebuilds the decision input the agent used for this path.
func (p Peer) Input(path Path) decision.Input {
	return decision.Input{Local: p.Local, Peer: p.Peer, OnLink: path.OnLink, IPv6Underlay: path.Family == 6,
		PeerPodCIDR: path.PodCIDR, PeerNodeIP: path.NodeIP}
}

// Lookup finds the peer and path whose node IP is ip.
func (f *File) Lookup(ip netip.Addr) (Peer, Path, bool) {
	for _, p := range f.Peers {
		for _, pa := range p.Paths {
			if a, err := netip.ParseAddr(pa.NodeIP); err == nil && a.Unmap() == ip.Unmap() {
				return p, pa, true
			}
		}
	}
	return Peer{}, Path{}, false
}

// PathIn returns the peers file path inside dir.
func PathIn(dir string) string { return filepath.Join(dir, FileName) }

// ErrNotExist is returned by Read when the agent has not written the file.
var ErrNotExist = errors.New("peers file does not exist")

// Read loads the peers file from dir.
func Read(dir string) (*File, error) {
	p := PathIn(dir)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("reading peers file %s: %w", p, err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parsing peers file %s: %w", p, err)
	}
	if f.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("peers file %s: schemaVersion %d, want %d", p, f.SchemaVersion, SchemaVersion)
	}
	return &f, nil
}

// Encode renders f (with its SchemaVersion set) as the file's bytes.
func Encode(f *File) ([]byte, error) {
	f.SchemaVersion = SchemaVersion
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding peers file: %w", err)
	}
	return append(b, '\n'), nil
}

// Write stores f in dir atomically.
func Write(dir string, f *File) error {
	b, err := Encode(f)
	if err != nil {
		return err
	}
	return state.WriteFileAtomic(dir, FileName, b)
}

// Remove deletes the peers file; a missing file is not an error.
func Remove(dir string) error {
	err := os.Remove(PathIn(dir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing peers file: %w", err)
	}
	return nil
}
