package podnet

import (
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// OpenHost returns a netlink handle bound to the calling thread's network
// namespace (the host's, for a CNI plugin).
func OpenHost() (netlinksafe.Handle, error) {
	h, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return netlinksafe.Handle{}, fmt.Errorf("opening netlink in host netns: %w", err)
	}
	return h, nil
}

// PodNS is an open pod network namespace with a netlink handle bound to it.
type PodNS struct {
	NS     ns.NetNS
	Handle netlinksafe.Handle
}

// OpenPod opens the network namespace at path and a netlink handle in it.
// A missing path returns an error wrapping ns.NSPathNotExistErr.
func OpenPod(path string) (*PodNS, error) {
	n, err := ns.GetNS(path)
	if err != nil {
		return nil, fmt.Errorf("opening pod netns %q: %w", path, err)
	}
	h, err := netlinksafe.NewHandleAt(netns.NsHandle(n.Fd()), unix.NETLINK_ROUTE)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("opening netlink in pod netns %q: %w", path, err)
	}
	return &PodNS{NS: n, Handle: h}, nil
}

// Close releases the handle and the namespace.
func (p *PodNS) Close() {
	p.Handle.Close()
	p.NS.Close()
}
