package datapath_test

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

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// netnsName returns a unique namespace name with this package's prefix.
func netnsName(t *testing.T, role string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "oo-a-dp-" + role + "-" + hex.EncodeToString(b[:])
}

// addNetns creates a named network namespace, removed at cleanup.
func addNetns(t *testing.T, role string) (string, ns.NetNS) {
	t.Helper()
	name := netnsName(t, role)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	h, err := ns.GetNS("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return name, h
}

// run runs a command and fails the test on error.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// output runs a command and returns its output, ignoring errors.
func output(args ...string) string {
	out, _ := exec.Command(args[0], args[1:]...).CombinedOutput()
	return string(out)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func nsOf(name string) (ns.NetNS, error) { return ns.GetNS("/run/netns/" + name) }
