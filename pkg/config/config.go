package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// PluginType is the "type" of this plugin in a conflist.
const PluginType = "offload-overlay"

// MTU bounds accepted in the configuration. 68 is the IPv4 minimum
// (RFC 791); 65535 is the largest MTU a veth accepts on this kernel.
const (
	MinMTU = 68
	MaxMTU = 65535
)

// NetConf is the plugin's network configuration.
type NetConf struct {
	types.NetConf

	// MTU of both veth ends. 0 means automatic: the node agent's state file,
	// else the uplink (the device of the default route).
	MTU int `json:"mtu,omitempty"`
	// StateDir is where the node agent writes its state file.
	StateDir string `json:"stateDir,omitempty"`

	// StateDirSet is true when the configuration names stateDir explicitly:
	// STATUS then reports a missing state file even in standalone mode.
	StateDirSet bool `json:"-"`

	// raw is the configuration as received, kept so the IPAM delegate gets
	// everything the runtime sent (runtimeConfig, args, ...).
	raw []byte
	// rawIPAM is the ipam object, field by field.
	rawIPAM map[string]json.RawMessage
}

// Parse applies defaults, unmarshals stdin and validates it. Every error is a
// *types.Error with code 7 naming the field.
func Parse(stdin []byte) (*NetConf, error) {
	c := &NetConf{StateDir: state.DefaultDir}
	if err := c.unmarshal(stdin); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *NetConf) unmarshal(stdin []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(stdin, &top); err != nil {
		return invalid("config", "not a JSON object: %v", err)
	}
	if top == nil {
		return invalid("config", "not a JSON object: null")
	}
	if err := json.Unmarshal(stdin, c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// Fields of the embedded types.NetConf come as "NetConf.ipam".
			return invalid(strings.TrimPrefix(te.Field, "NetConf."), "cannot take a JSON %s", te.Value)
		}
		return invalid("config", "%v", err)
	}
	_, c.StateDirSet = top["stateDir"]
	c.raw = stdin
	if ipamRaw, ok := top["ipam"]; ok && !isNull(ipamRaw) {
		if err := json.Unmarshal(ipamRaw, &c.rawIPAM); err != nil {
			return invalid("ipam", "not a JSON object: %v", err)
		}
	}
	return nil
}

// MaxNameLen bounds the network name: it is stored, with the container ID
// and interface name, in the host veth's alias (at most 255 bytes), which
// GC reads back to tell our attachments apart.
const MaxNameLen = 128

// validName is the CNI spec's network name syntax, within MaxNameLen.
func validName(s string) bool {
	if len(s) > MaxNameLen {
		return false
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '_' && r != '.' && r != '-')) {
			return false
		}
	}
	return true
}

func (c *NetConf) validate() error {
	if c.Name == "" {
		return invalid("name", "missing")
	}
	if !validName(c.Name) {
		return invalid("name", "%q: want a letter or digit, then letters, digits, '_', '.' or '-' (CNI spec), at most %d characters", c.Name, MaxNameLen)
	}
	if c.Type != PluginType {
		return invalid("type", "%q, want %q", c.Type, PluginType)
	}
	if c.MTU != 0 && (c.MTU < MinMTU || c.MTU > MaxMTU) {
		return invalid("mtu", "%d out of range (0 = automatic, else %d..%d)", c.MTU, MinMTU, MaxMTU)
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		return invalid("stateDir", "%q is not an absolute path", c.StateDir)
	}
	if c.IPAM.Type == "" {
		return invalid("ipam.type", "missing (e.g. \"host-local\")")
	}
	return c.validateRanges()
}

// validateRanges checks ipam.subnet and ipam.ranges when present; host-local
// checks them again, but only we can name the field with code 7.
func (c *NetConf) validateRanges() error {
	if raw, ok := c.rawIPAM["subnet"]; ok {
		if err := checkCIDR("ipam.subnet", raw); err != nil {
			return err
		}
	}
	raw, ok := c.rawIPAM["ranges"]
	if !ok || isNull(raw) {
		return nil
	}
	var sets [][]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sets); err != nil {
		return invalid("ipam.ranges", "not a list of lists of ranges: %v", err)
	}
	if len(sets) == 0 {
		return invalid("ipam.ranges", "empty list (omit it to take the node's pod CIDRs)")
	}
	for i, set := range sets {
		if len(set) == 0 {
			return invalid(fmt.Sprintf("ipam.ranges[%d]", i), "empty range set")
		}
		for j, r := range set {
			field := fmt.Sprintf("ipam.ranges[%d][%d].subnet", i, j)
			if err := checkCIDR(field, r["subnet"]); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCIDR(field string, raw json.RawMessage) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return invalid(field, "not a string: %s", truncate(raw))
	}
	if _, _, err := net.ParseCIDR(s); err != nil {
		return invalid(field, "%q is not a CIDR", s)
	}
	return nil
}

// HasRanges reports whether the configuration carries its own address
// ranges (ipam.ranges or ipam.subnet), so the node's pod CIDRs are not used.
func (c *NetConf) HasRanges() bool {
	for _, k := range []string{"ranges", "subnet"} {
		if raw, ok := c.rawIPAM[k]; ok && !isNull(raw) {
			return true
		}
	}
	return false
}

// Standalone reports whether the plugin needs no node agent: explicit mtu,
// explicit ranges and no explicit stateDir to watch.
func (c *NetConf) Standalone() bool {
	return c.MTU > 0 && c.HasRanges() && !c.StateDirSet
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func truncate(raw json.RawMessage) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}

// invalid returns a CNI error with code 7 naming field.
func invalid(field, format string, a ...any) error {
	msg := fmt.Sprintf("invalid network config: %s: ", field) + fmt.Sprintf(format, a...)
	return types.NewError(types.ErrInvalidNetworkConfig, msg, "")
}

// IPAMString returns the string field key of the ipam object ("" when
// absent or not a string), e.g. host-local's "dataDir".
func (c *NetConf) IPAMString(key string) string {
	var s string
	if raw, ok := c.rawIPAM[key]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}
