package k8senv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// K8sVersion is the Kubernetes release the binaries are built from.
const K8sVersion = "v1.34.4"

// BinDir returns where e2e/k8s/build.sh puts the Kubernetes binaries:
// $K8S_BIN_DIR, else ~/.cache/offload-overlay/k8s-v1.34.4.
func BinDir() string {
	if d := os.Getenv("K8S_BIN_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "offload-overlay", "k8s-"+K8sVersion)
}

// Bin returns the path of one binary in BinDir.
func Bin(name string) string { return filepath.Join(BinDir(), name) }

// Required reports whether missing binaries must fail the test instead of
// skipping it: in CI ($CI set) or when $OO_REQUIRE_K8S=1.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("OO_REQUIRE_K8S") == "1"
}

// RequireBinaries skips (or, when Required, fails) the test unless etcd and
// the named Kubernetes binaries are present.
func RequireBinaries(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if fi, err := os.Stat(Bin(n)); err != nil || fi.Mode()&0o111 == 0 {
			missing(t, fmt.Sprintf("kubernetes binaries not built: run make k8s-bins (%s missing in %s)", n, BinDir()))
			return
		}
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		missing(t, "etcd not installed: run make deps")
	}
}

func missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatal(why)
	}
	t.Skip(why)
}
