package linux_test

import (
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/netnstest"
)

// Shorthands for internal/testenv/netnstest, with this package's
// namespace prefix.
const nsPrefix = "oo-a-dp-"

func needRoot(t *testing.T)                      { t.Helper(); netnstest.NeedRoot(t) }
func netnsName(t *testing.T, role string) string { return netnstest.Name(nsPrefix, role) }
func addNetns(t *testing.T, role string) (string, ns.NetNS) {
	t.Helper()
	return netnstest.Add(t, nsPrefix, role)
}
func run(t *testing.T, args ...string) string { t.Helper(); return netnstest.Run(t, args...) }
func output(args ...string) string            { return netnstest.Output(args...) }
func nsOf(name string) (ns.NetNS, error)      { return netnstest.Open(name) }

type syncBuffer = netnstest.SyncBuffer
