package podnet

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

const (
	// HostVethPrefix starts every host-side veth name this plugin creates.
	HostVethPrefix = "oo"
	// aliasPrefix starts the alias (IFLA_IFALIAS) of every host veth.
	aliasPrefix = "offload-overlay"
	// hashHexLen makes prefix + hash exactly IFNAMSIZ-1 = 15 bytes.
	hashHexLen = 15 - len(HostVethPrefix)
)

// Attachment identifies one pod interface on one network, the key of CNI's
// ADD/DEL/GC (network name, container ID, interface name).
type Attachment struct {
	Network     string
	ContainerID string
	IfName      string
}

// HostVeth is the deterministic name of the attachment's host-side veth.
func (a Attachment) HostVeth() string {
	sum := sha256.Sum256([]byte(a.ContainerID + "/" + a.IfName))
	return HostVethPrefix + hex.EncodeToString(sum[:])[:hashHexLen]
}

// Alias is the link alias set on the host veth so GC can tell which
// attachment owns it. Network names and container IDs contain only
// alphanumerics, '-', '_' and '.', and the kernel forbids ':' in interface
// names, so ':' separates the fields unambiguously.
func (a Attachment) Alias() string {
	return aliasPrefix + ":" + a.Network + ":" + a.ContainerID + ":" + a.IfName
}

// ParseAlias is the inverse of Alias.
func ParseAlias(s string) (Attachment, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != aliasPrefix || parts[2] == "" || parts[3] == "" {
		return Attachment{}, false
	}
	return Attachment{Network: parts[1], ContainerID: parts[2], IfName: parts[3]}, true
}
