package offload

import "github.com/vishvananda/netlink"

// tunnelKinds maps rtnetlink link kinds (`ip -d link show` prints them after
// the flags line) to the tunnel name doctor reports. Every one of them
// encapsulates in software and advertises no tunnel segmentation of its own,
// so a VXLAN overlay on top of it would nest two tunnel levels.
var tunnelKinds = map[string]string{
	"vxlan":     "vxlan",
	"geneve":    "geneve",
	"bareudp":   "bareudp",
	"ipip":      "ipip",
	"sit":       "sit",
	"gre":       "gre",
	"gretap":    "gretap",
	"erspan":    "erspan",
	"ip6tnl":    "ip6tnl",
	"ip6gre":    "ip6gre",
	"ip6gretap": "ip6gretap",
	"ip6erspan": "ip6erspan",
	"vti":       "vti",
	"vti6":      "vti6",
	"xfrm":      "xfrm",
	"wireguard": "wireguard",
	"gtp":       "gtp",
	"amt":       "amt",
	// tun devices carry wireguard-go, tailscale, OpenVPN and other
	// user-space VPN clients: the kernel sees a tunnel it cannot look into.
	"tuntap": "tun",
	"tun":    "tun",
}

// TunnelKind returns the tunnel name for an rtnetlink link kind ("tuntap" is
// reported as "tun"), or "" when the kind is not a tunnel.
func TunnelKind(kind string) string { return tunnelKinds[kind] }

// linkKind returns the rtnetlink kind of l; netlink reports the kernel's
// kind string except for tun/tap ("tuntap") and links without IFLA_INFO_KIND
// (physical NICs: "device").
func linkKind(l netlink.Link) string { return l.Type() }
