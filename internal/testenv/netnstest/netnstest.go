// Package netnstest holds the few helpers the privileged tests of pkg/agent
// and pkg/datapath/linux share: skip unless root, named throwaway network
// namespaces removed at cleanup, running ip(8) commands, and a
// goroutine-safe log sink.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
)

// NeedRoot skips the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// Name returns a unique namespace name: prefix, role and a random suffix.
func Name(prefix, role string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + role + "-" + hex.EncodeToString(b[:])
}

// Add creates a named network namespace with lo up, removed at cleanup.
// Equivalent to: ip netns add NAME; ip -n NAME link set lo up
func Add(t testing.TB, prefix, role string) (string, ns.NetNS) {
	t.Helper()
	name := Name(prefix, role)
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	h, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return name, h
}

// Open opens the named namespace.
func Open(name string) (ns.NetNS, error) { return ns.GetNS("/run/netns/" + name) }

// Run runs a command and fails the test on error.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Output runs a command and returns its output, ignoring errors.
func Output(args ...string) string {
	out, _ := exec.Command(args[0], args[1:]...).CombinedOutput()
	return string(out)
}

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
