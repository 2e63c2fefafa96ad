package podnet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VethSpec says what CreateVeth builds.
type VethSpec struct {
	HostName, PodIfName, Alias string
	MTU                        int
	GSOMaxSize, GROMaxSize     int
}

// ErrLinkExists wraps EEXIST from CreateVeth: the host veth name or the pod
// interface name is taken, and nothing was created.
var ErrLinkExists = errors.New("link already exists")

// VethPair is the pair CreateVeth made.
type VethPair struct {
	Host, Pod netlink.Link
}

// CreateVeth creates the pair with the host end up in host's netns and the
// peer directly in the pod netns podNSFd, both with the spec's MTU and BIG
// TCP sizes, and brings the pod end up. On error nothing is left behind;
// an error wrapping ErrLinkExists means a name was taken and nothing of the
// existing link was touched.
//
// Equivalent to:
//
//	ip link add $host mtu $mtu gso_max_size $gso gro_max_size $gro up \
//	    type veth peer name $ifname netns $podns mtu $mtu
//	ip link set $host alias offload-overlay:$network:$containerID:$ifname
//	ip -n $podns link set $ifname gso_max_size $gso gro_max_size $gro up
func CreateVeth(host, pod netlinksafe.Handle, podNSFd int, s VethSpec) (*VethPair, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = s.HostName
	attrs.MTU = s.MTU
	attrs.Flags = net.FlagUp
	attrs.HardwareAddr = randomMAC()
	attrs.GSOMaxSize, attrs.GSOIPv4MaxSize = uint32(s.GSOMaxSize), uint32(s.GSOMaxSize)
	attrs.GROMaxSize, attrs.GROIPv4MaxSize = uint32(s.GROMaxSize), uint32(s.GROMaxSize)
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: s.PodIfName, PeerNamespace: netlink.NsFd(podNSFd),
		PeerHardwareAddr: randomMAC()}
	if err := host.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("creating veth %s <-> %s: %w: %w", s.HostName, s.PodIfName, ErrLinkExists, err)
		}
		return nil, fmt.Errorf("creating veth %s <-> %s: %w", s.HostName, s.PodIfName, err)
	}
	success := false
	defer func() {
		if !success {
			_ = host.LinkDel(veth)
		}
	}()
	// The kernel ignores IFLA_IFALIAS in RTM_NEWLINK; set it afterwards.
	if err := host.LinkSetAlias(veth, s.Alias); err != nil {
		return nil, fmt.Errorf("setting alias of %s: %w", s.HostName, err)
	}
	podLink, err := pod.LinkByName(s.PodIfName)
	if err != nil {
		return nil, fmt.Errorf("finding pod end %s: %w", s.PodIfName, err)
	}
	if err := setBigTCP(pod, podLink, s.GSOMaxSize, s.GROMaxSize); err != nil {
		return nil, err
	}
	if err := pod.LinkSetUp(podLink); err != nil {
		return nil, fmt.Errorf("setting pod end %s up: %w", s.PodIfName, err)
	}
	success = true
	return &VethPair{Host: veth, Pod: podLink}, nil
}

// randomMAC returns a random unicast, locally administered MAC address.
// Choosing it here saves reading the kernel's choice back.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	_, _ = rand.Read(mac)
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// setBigTCP raises the GSO/GRO ceilings (IPv6 and IPv4 attributes) of link;
// sizes of 0 leave the kernel default. The library cannot pass them for a
// veth peer at creation, so the pod end gets them here.
//
// Equivalent to: ip link set $dev gso_max_size $gso gro_max_size $gro
// (gso_ipv4_max_size/gro_ipv4_max_size have no iproute2 6.1 syntax).
func setBigTCP(h netlinksafe.Handle, link netlink.Link, gso, gro int) error {
	name := link.Attrs().Name
	if gso > 0 {
		if err := h.LinkSetGSOMaxSize(link, gso); err != nil {
			return fmt.Errorf("setting gso_max_size %d on %s: %w", gso, name, err)
		}
		if err := h.LinkSetGSOIPv4MaxSize(link, gso); err != nil {
			return fmt.Errorf("setting gso_ipv4_max_size %d on %s: %w", gso, name, err)
		}
	}
	if gro > 0 {
		if err := h.LinkSetGROMaxSize(link, gro); err != nil {
			return fmt.Errorf("setting gro_max_size %d on %s: %w", gro, name, err)
		}
		if err := h.LinkSetGROIPv4MaxSize(link, gro); err != nil {
			return fmt.Errorf("setting gro_ipv4_max_size %d on %s: %w", gro, name, err)
		}
	}
	return nil
}

// DeleteHostVeth removes the host end (and with it the pod end and every
// route through either). A missing link is success.
//
// Equivalent to: ip link del $name
func DeleteHostVeth(host netlinksafe.Handle, name string) error {
	link, err := host.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("looking up host veth %s: %w", name, err)
	}
	if err := host.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting host veth %s: %w", name, err)
	}
	return nil
}
