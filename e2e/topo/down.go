package topo

import (
	"errors"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
)

// Down removes everything whose name starts with prefix: processes living in
// the lab's namespaces (by pid, found with `ip netns pids`), the namespaces
// (which takes every link, route, rule and iptables chain inside with them),
// and the host link prefix+"host". Missing pieces are success: Down is
// idempotent and works after any failure, with no record of what Up did.
func Down(prefix string) error {
	if prefix == "" {
		return errors.New("refusing to tear down an empty prefix")
	}
	names, err := ListNetns(prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if err := killNetnsProcs(n, 3*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, n := range names {
		if err := DelNetns(n); err != nil {
			errs = append(errs, err)
		}
	}
	if err := delHostLink(prefix + "host"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// delHostLink deletes the host-namespace link; a missing one is success.
// Equivalent to: `ip link del $name`.
func delHostLink(name string) error {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// Leftovers lists what Down would remove (empty when the lab is gone): the
// namespaces and the host link. Tests assert it is empty after teardown.
func Leftovers(prefix string) ([]string, error) {
	names, err := ListNetns(prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		out = append(out, "netns "+n)
	}
	links, err := netlink.LinkList()
	if err != nil {
		return out, fmt.Errorf("listing host links: %w", err)
	}
	for _, l := range links {
		if len(l.Attrs().Name) >= len(prefix) && l.Attrs().Name[:len(prefix)] == prefix {
			out = append(out, "link "+l.Attrs().Name)
		}
	}
	return out, nil
}
