package dplab

import (
	"fmt"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// Handle returns a netlink handle bound to the node's namespace (the
// caller closes it).
func (n *Node) Handle() (*netlink.Handle, error) {
	h, err := netns.GetFromPath(n.NS.Path())
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return netlink.NewHandleAt(h)
}

// EnsureOverlay creates the node's VXLAN devices (IPv4 and IPv6 outer)
// and returns the links a Converger programs on.
func (n *Node) EnsureOverlay(vni int) (peers.Links, error) {
	var links peers.Links
	err := n.NS.Do(func(ns.NetNS) error {
		up, err := netlink.LinkByName(n.Uplink)
		if err != nil {
			return err
		}
		links.Uplink4, links.Uplink6 = up.Attrs().Index, up.Attrs().Index
		for _, ip := range []netip.Addr{n.IP4, n.IP6} {
			d, err := overlay.Ensure(nil, overlay.Config{VNI: vni, LocalIP: ip, UplinkIndex: up.Attrs().Index})
			if err != nil {
				return err
			}
			if d.Family == 4 {
				links.VXLAN4 = d.Index
			} else {
				links.VXLAN6 = d.Index
			}
		}
		return nil
	})
	if err != nil {
		return links, fmt.Errorf("node %s: %w", n.Name, err)
	}
	return links, nil
}

// AsPeer describes node m as a peer in the given mode.
func (m *Node) AsPeer(mode decision.Mode) peers.Peer {
	return peers.Peer{
		Name:     m.Name,
		Mode:     mode,
		PodCIDRs: []netip.Prefix{m.PodCIDR4, m.PodCIDR6},
		Endpoints: []peers.Endpoint{
			{NodeIP: m.IP4, VTEPMAC: overlay.VTEPMAC(m.IP4)},
			{NodeIP: m.IP6, VTEPMAC: overlay.VTEPMAC(m.IP6)},
		},
	}
}

// PeersOf lists every other node of the lab as a peer of n, with the mode
// mode(n, other) (which must be symmetric).
func (l *Lab) PeersOf(n *Node, mode func(a, b *Node) decision.Mode) []peers.Peer {
	var out []peers.Peer
	for _, m := range l.Nodes {
		if m != n {
			out = append(out, m.AsPeer(mode(n, m)))
		}
	}
	return out
}
