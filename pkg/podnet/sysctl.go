package podnet

import (
	"bytes"
	"fmt"
	"os"
)

// Forwarding sysctls of the calling thread's network namespace.
const (
	ipv4Forward = "/proc/sys/net/ipv4/ip_forward"
	ipv6Forward = "/proc/sys/net/ipv6/conf/all/forwarding"
)

// EnsureForwarding turns on IPv4 and/or IPv6 forwarding in the current
// network namespace, writing only a sysctl that is not already 1 (a write
// to conf/all/forwarding resets per-device settings, and skipping it keeps
// ADD free of needless side effects). If the second write fails, the first
// is undone, so a failed call changes nothing.
//
// Equivalent to: sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
func EnsureForwarding(v4, v6 bool) error {
	var paths []string
	if v4 {
		paths = append(paths, ipv4Forward)
	}
	if v6 {
		paths = append(paths, ipv6Forward)
	}
	var changed []string
	for _, p := range paths {
		on, err := sysctlOn(p)
		if err != nil {
			return err
		}
		if on {
			continue
		}
		if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
			for _, c := range changed {
				_ = os.WriteFile(c, []byte("0"), 0o644)
			}
			return fmt.Errorf("enabling forwarding (%s): %w", p, err)
		}
		changed = append(changed, p)
	}
	return nil
}

func sysctlOn(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return string(bytes.TrimSpace(b)) == "1", nil
}
