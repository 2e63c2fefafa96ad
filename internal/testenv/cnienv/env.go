package cnienv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
)

// RefPlugins are the reference plugins linked into every Env's bin dir.
var RefPlugins = []string{"host-local", "portmap", "bandwidth", "ptp", "bridge", "loopback", "tuning"}

// Env is one throwaway node: a host netns and a CNI bin dir.
type Env struct {
	HostNS  ns.NetNS
	BinDir  string
	DataDir string // host-local dataDir for this Env
	CNI     *libcni.CNIConfig
	work    string
}

// RefDir returns the reference plugins' directory: $REF_CNI_DIR, else the
// Makefile's default cache path.
func RefDir() string {
	if d := os.Getenv("REF_CNI_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache/offload-overlay/cni-plugins-v1.9.1")
}

// ErrNoRefPlugins says `make ref-plugins` has not run.
var ErrNoRefPlugins = errors.New("reference CNI plugins missing (run make ref-plugins)")

// New creates an Env under work (a directory the caller removes) with
// pluginBin installed as "offload-overlay".
func New(work, pluginBin, refDir string) (*Env, error) {
	if _, err := os.Stat(filepath.Join(refDir, "host-local")); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoRefPlugins, err)
	}
	e := &Env{BinDir: filepath.Join(work, "bin"), DataDir: filepath.Join(work, "ipam"), work: work}
	if err := os.MkdirAll(e.BinDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(pluginBin, filepath.Join(e.BinDir, "offload-overlay")); err != nil {
		return nil, fmt.Errorf("installing plugin: %w", err)
	}
	for _, p := range RefPlugins {
		if err := os.Symlink(filepath.Join(refDir, p), filepath.Join(e.BinDir, p)); err != nil {
			return nil, fmt.Errorf("installing %s: %w", p, err)
		}
	}
	host, err := testutils.NewNS()
	if err != nil {
		return nil, fmt.Errorf("creating host netns: %w", err)
	}
	e.HostNS = host
	// An explicit exec: libcni sets a nil one lazily, racing when an Env
	// serves concurrent pods.
	runner := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}
	e.CNI = libcni.NewCNIConfigWithCacheDir([]string{e.BinDir}, filepath.Join(work, "cache"), runner)
	return e, nil
}

// Close removes the host netns (and with it every host-side device).
func (e *Env) Close() {
	if e.HostNS != nil {
		e.HostNS.Close()
		_ = testutils.UnmountNS(e.HostNS)
	}
}

// NewPodNS creates a pod netns; the caller closes it with ClosePodNS.
func NewPodNS() (ns.NetNS, error) { return testutils.NewNS() }

// ClosePodNS removes a pod netns.
func ClosePodNS(n ns.NetNS) {
	n.Close()
	_ = testutils.UnmountNS(n)
}

// inHost runs f on a thread locked into the host netns.
func (e *Env) inHost(f func() error) error {
	return e.HostNS.Do(func(ns.NetNS) error { return f() })
}

// Add runs ADD for the whole list.
func (e *Env) Add(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) (types.Result, error) {
	var res types.Result
	err := e.inHost(func() error {
		var err error
		res, err = e.CNI.AddNetworkList(ctx, list, rt)
		return err
	})
	return res, err
}

// Del runs DEL for the whole list.
func (e *Env) Del(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	return e.inHost(func() error { return e.CNI.DelNetworkList(ctx, list, rt) })
}

// Check runs CHECK for the whole list (uses the cached result).
func (e *Env) Check(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	return e.inHost(func() error { return e.CNI.CheckNetworkList(ctx, list, rt) })
}

// Status runs STATUS for the whole list.
func (e *Env) Status(ctx context.Context, list *libcni.NetworkConfigList) error {
	return e.inHost(func() error { return e.CNI.GetStatusNetworkList(ctx, list) })
}

// GC runs GC for the whole list with the given valid attachments.
func (e *Env) GC(ctx context.Context, list *libcni.NetworkConfigList, valid []types.GCAttachment) error {
	return e.inHost(func() error {
		return e.CNI.GCNetworkList(ctx, list, &libcni.GCArgs{ValidAttachments: valid})
	})
}

// RuntimeConf is what a runtime passes for one pod.
func RuntimeConf(id string, podNS ns.NetNS) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: id, NetNS: podNS.Path(), IfName: "eth0"}
}

// BuildPlugin returns the plugin binary to test: $OO_PLUGIN_BIN when set,
// else a fresh `go build` of ./plugins/main/offload-overlay into dir, with
// the Makefile's flags.
func BuildPlugin(dir string) (string, error) {
	if b := os.Getenv("OO_PLUGIN_BIN"); b != "" {
		return filepath.Abs(b)
	}
	out := filepath.Join(dir, "offload-overlay")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out,
		"github.com/offload-overlay/offload-overlay/plugins/main/offload-overlay")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building plugin: %w: %s", err, b)
	}
	return out, nil
}
