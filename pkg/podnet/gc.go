package podnet

import (
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
)

// OwnedVeth is a host veth this plugin created, with the attachment its
// alias names.
type OwnedVeth struct {
	Name string
	Attachment
}

// ListOwnedVeths returns the host veths of network: veth links whose name
// starts with HostVethPrefix, whose alias parses as an attachment of
// network, and whose name is the one that attachment would get. Anything
// else (other plugins' veths, other networks) is never returned.
//
// Equivalent to: ip -d link show type veth | grep 'alias offload-overlay:$network:'
func ListOwnedVeths(host netlinksafe.Handle, network string) ([]OwnedVeth, error) {
	links, err := host.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	var out []OwnedVeth
	for _, l := range links {
		a := l.Attrs()
		if l.Type() != "veth" || len(a.Name) < len(HostVethPrefix) || a.Name[:len(HostVethPrefix)] != HostVethPrefix {
			continue
		}
		att, ok := ParseAlias(a.Alias)
		if !ok || att.Network != network || att.HostVeth() != a.Name {
			continue
		}
		out = append(out, OwnedVeth{Name: a.Name, Attachment: att})
	}
	return out, nil
}
