package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ContainerdVersion is the containerd 2 release the cluster e2e runs on every
// node (e2e/k8s/containerd.sh builds it; keep the two in step).
const ContainerdVersion = "v2.4.2"

// Runtime is the container runtime of every node: containerd 2 built by
// `make containerd` (the default), or Debian's containerd 1.6 with
// OO_CONTAINERD=1.6 (it never calls STATUS: the STATUS checks skip there).
// runc is Debian's either way.
type Runtime struct {
	// Dir holds containerd, ctr and containerd-shim-runc-v2; empty means the
	// system's (Debian's 1.6, on PATH).
	Dir string
}

// DefaultRuntime is containerd 2 from $CONTAINERD_DIR (default
// ~/.cache/offload-overlay/containerd-v2.4.2), or the system's containerd
// when OO_CONTAINERD=1.6.
func DefaultRuntime() Runtime {
	if os.Getenv("OO_CONTAINERD") == "1.6" {
		return Runtime{}
	}
	if d := os.Getenv("CONTAINERD_DIR"); d != "" {
		return Runtime{Dir: d}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return Runtime{Dir: filepath.Join(home, ".cache", "offload-overlay", "containerd-"+ContainerdVersion)}
}

// V2 reports whether this is containerd 2 (config version 3, STATUS calls).
func (r Runtime) V2() bool { return r.Dir != "" }

// Bin is the path of one of the runtime's binaries.
func (r Runtime) Bin(name string) string {
	if r.Dir == "" {
		return name
	}
	return filepath.Join(r.Dir, name)
}

// check says what is missing to run this runtime.
func (r Runtime) check() error {
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if r.Dir == "" {
			if _, err := exec.LookPath(b); err != nil {
				return fmt.Errorf("%s not installed (make deps): %w", b, err)
			}
			continue
		}
		if fi, err := os.Stat(r.Bin(b)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("containerd 2 not built: run make containerd (%s missing in %s)", b, r.Dir)
		}
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return fmt.Errorf("runc not installed (make deps): %w", err)
	}
	return nil
}

// Env is the environment containerd runs with: its own directory first on
// PATH, so it starts its own shim (Debian's 1.6 shim is in /usr/bin).
func (r Runtime) Env() []string {
	if r.Dir == "" {
		return nil
	}
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	return append(env, "PATH="+r.Dir+":"+os.Getenv("PATH"))
}

// containerdPaths is where containerd keeps its data and listens, spelled
// the same in both configuration layouts (the kubelet's
// containerRuntimeEndpoint and crictl's -r name this socket).
const containerdPaths = `root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "/var/lib/containerd/opt"
`

// Config is the node's containerd configuration: the same settings in
// containerd 1.x's version 2 and containerd 2's version 3 layout.
//
// Both: state and root at the standard paths (node-private through
// node-init.sh), the CNI directories the DaemonSet installs into with only
// the first conflist used, runc with cgroupfs (the machine is cgroup v1
// without systemd), and restrict_oom_score_adj: root here lacks
// CAP_SYS_RESOURCE, and without it runc fails with "can't get final child's
// PID from pipe: EOF" (oom_score_adj EACCES).
func (r Runtime) Config(sandboxImage string) string {
	version, cri := 2, criConfigV2
	if r.V2() {
		version, cri = 3, criConfigV3
	}
	return fmt.Sprintf("version = %d\n", version) + containerdPaths + fmt.Sprintf(cri, sandboxImage)
}

// criConfigV2 is the CRI plugin's part of a version 2 configuration
// (containerd 1.x); %q is the sandbox image.
const criConfigV2 = `[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
    max_conf_num = 1
`

// criConfigV3 is the CRI plugin's part of a version 3 configuration
// (containerd 2): the plugin is split in images and runtime, and
// cni.bin_dir became bin_dirs (2.1); %q is the sandbox image.
const criConfigV3 = `[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = %q
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/opt/cni/bin"]
    conf_dir = "/etc/cni/net.d"
    max_conf_num = 1
`
