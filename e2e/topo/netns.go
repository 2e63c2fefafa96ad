package topo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// AddNetns creates a named namespace. Equivalent to: `ip netns add $name`.
func AddNetns(name string) error {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec runs a command inside the named namespace and returns its combined
// output. Equivalent to: `ip netns exec $name $args...`.
func Exec(netnsName string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", netnsName}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s: %w: %s", netnsName, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Do runs f on an OS thread switched into the named namespace (sysctls,
// ethtool ioctls and sockets then act on that namespace).
func Do(netnsName string, f func() error) error {
	n, err := ns.GetNS(NetnsPath(netnsName))
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", netnsName, err)
	}
	defer n.Close()
	return n.Do(func(ns.NetNS) error { return f() })
}

// Handle returns a netlink handle bound to the named namespace; the caller
// closes it.
func Handle(netnsName string) (*netlink.Handle, error) {
	h, err := netns.GetFromName(netnsName)
	if err != nil {
		return nil, fmt.Errorf("opening netns %s: %w", netnsName, err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", netnsName, err)
	}
	return nh, nil
}

// Sysctl writes one sysctl inside the named namespace, e.g.
// Sysctl(n, "net.ipv4.ip_forward", "1"). Equivalent to:
// `ip netns exec $n sysctl -w $key=$value`.
func Sysctl(netnsName, key, value string) error {
	return Do(netnsName, func() error {
		p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s in %s: %w", key, value, netnsName, err)
		}
		return nil
	})
}

// ListNetns returns the named namespaces whose name starts with prefix.
func ListNetns(prefix string) ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", netnsDir, err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Pids returns the processes living in the named namespace.
// Equivalent to: `ip netns pids $name`.
func Pids(netnsName string) ([]int, error) {
	out, err := exec.Command("ip", "netns", "pids", netnsName).Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns pids %s: %w", netnsName, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// killNetnsProcs ends every process inside the named namespace (agents,
// iperf3 servers the lab started there): SIGTERM, then SIGKILL after grace.
func killNetnsProcs(netnsName string, grace time.Duration) error {
	pids, err := Pids(netnsName)
	if err != nil || len(pids) == 0 {
		return err
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if left, _ := Pids(netnsName); len(left) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	left, _ := Pids(netnsName)
	for _, p := range left {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	time.Sleep(100 * time.Millisecond)
	if left, _ := Pids(netnsName); len(left) != 0 {
		return fmt.Errorf("processes %v still in netns %s", left, netnsName)
	}
	return nil
}

// DelNetns deletes a named namespace; a missing one is success.
// Equivalent to: `ip netns del $name`.
func DelNetns(name string) error {
	if _, err := os.Stat(NetnsPath(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
