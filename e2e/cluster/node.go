package cluster

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
)

//go:embed node-init.sh
var nodeInitScript []byte

// Node is one Kubernetes node: a network namespace (from the topology) plus
// its own mount and UTS namespaces in which containerd, kubelet and
// kube-proxy run with the standard paths.
type Node struct {
	Name  string // Kubernetes node name = hostname = network namespace name
	Netns string
	IP    string // InternalIP (the uplink address)
	IPv6  string // IPv6 InternalIP (dual-stack clusters)
	Dir   string // everything this node writes on the host

	cluster    *Cluster
	init       *k8senv.Process
	containerd *k8senv.Process
	kubelet    *k8senv.Process
	kubeProxy  *k8senv.Process
	cgroupRoot string
}

// start creates the node's namespaces and starts its daemons; the node
// registers with the API server (NotReady until a CNI is installed).
func (n *Node) start() error {
	for _, p := range nodePaths {
		if err := os.MkdirAll(filepath.Join(n.Dir, "root", p), 0o755); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	if err := n.writeConfigs(); err != nil {
		return err
	}
	if err := n.makeCgroups(); err != nil {
		return err
	}
	script := filepath.Join(n.Dir, "node-init.sh")
	if err := os.WriteFile(script, nodeInitScript, 0o755); err != nil {
		return err
	}
	p, err := k8senv.StartProcess(n.Name+"/init", "unshare",
		[]string{"-m", "-u", "--propagation", "slave", "nsenter", "--net=" + netnsPath(n.Netns), "--", "bash", script, n.Dir, n.Name},
		filepath.Join(n.Dir, "init.log"), nil)
	if err != nil {
		return err
	}
	n.init = p
	if err := waitFile(filepath.Join(n.Dir, "init.ready"), 10*time.Second, p); err != nil {
		return fmt.Errorf("node %s init: %w\n%s", n.Name, err, p.Tail(10))
	}
	if err := n.StartContainerd(); err != nil {
		return err
	}
	for _, img := range n.cluster.images {
		if out, err := n.Ctr("-n", "k8s.io", "images", "import", img); err != nil {
			return fmt.Errorf("node %s: importing %s: %w: %s", n.Name, img, err, out)
		}
	}
	if n.kubelet, err = n.daemon("kubelet", k8senv.Bin("kubelet"), "--config="+filepath.Join(n.Dir, "kubelet.yaml"),
		"--kubeconfig="+filepath.Join(n.Dir, "kubelet.kubeconfig"), "--hostname-override="+n.Name,
		"--node-ip="+n.nodeIPs(), "--root-dir=/var/lib/kubelet", "-v=2"); err != nil {
		return err
	}
	if n.kubeProxy, err = n.daemon("kube-proxy", k8senv.Bin("kube-proxy"),
		"--kubeconfig="+filepath.Join(n.Dir, "kube-proxy.kubeconfig"), "--hostname-override="+n.Name,
		"--proxy-mode=iptables", "--cluster-cidr="+n.cluster.opts.ClusterCIDR,
		// conntrack sysctls are global and read-only outside the initial
		// netns: leave them alone (what kind does)
		"--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0", "--v=2"); err != nil {
		return err
	}
	return nil
}

func (n *Node) nodeIPs() string {
	if n.IPv6 != "" {
		return n.IP + "," + n.IPv6
	}
	return n.IP
}

// StartContainerd (re)starts the node's containerd and waits for its socket.
func (n *Node) StartContainerd() error {
	var err error
	rt := n.cluster.opts.Runtime
	n.containerd, err = n.daemonEnv("containerd", rt.Env(), rt.Bin("containerd"), "--config", filepath.Join(n.Dir, "containerd.toml"))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := n.Ctr("version"); err == nil {
			return nil
		}
		if done, werr := n.containerd.Exited(); done {
			return fmt.Errorf("node %s: containerd exited: %v\n%s", n.Name, werr, n.containerd.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("node %s: containerd not answering after 20s\n%s", n.Name, n.containerd.Tail(20))
}

// StopContainerd stops containerd only (pods keep running under their shims).
func (n *Node) StopContainerd() { n.containerd.Stop(10 * time.Second) }

// daemon runs a long-lived process inside the node's namespaces.
func (n *Node) daemon(name, bin string, args ...string) (*k8senv.Process, error) {
	return n.daemonEnv(name, nil, bin, args...)
}

// daemonEnv is daemon with an environment (nil = inherit).
func (n *Node) daemonEnv(name string, env []string, bin string, args ...string) (*k8senv.Process, error) {
	full := append([]string{"-t", strconv.Itoa(n.init.Pid()), "-m", "-n", "-u", "--", bin}, args...)
	p, err := k8senv.StartProcess(n.Name+"/"+name, "nsenter", full, filepath.Join(n.Dir, name+".log"), env)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name, err)
	}
	return p, nil
}

// Exec runs a command inside the node's namespaces and returns its output.
// Equivalent to: `nsenter -t $init -m -n -u -- $args`.
func (n *Node) Exec(args ...string) (string, error) {
	full := append([]string{"-t", strconv.Itoa(n.init.Pid()), "-m", "-n", "-u", "--"}, args...)
	out, err := exec.Command("nsenter", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("on %s: %s: %w", n.Name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Ctr runs the runtime's ctr against the node's containerd.
func (n *Node) Ctr(args ...string) (string, error) {
	return n.Exec(append([]string{n.cluster.opts.Runtime.Bin("ctr")}, args...)...)
}

// Crictl runs crictl against the node's containerd and returns its standard
// output (crictl logs warnings, e.g. about its missing config file, on
// stderr, which goes into the error only).
func (n *Node) Crictl(args ...string) (string, error) {
	full := append([]string{"-t", strconv.Itoa(n.init.Pid()), "-m", "-n", "-u", "--", k8senv.Bin("crictl"), "-r", "unix:///run/containerd/containerd.sock"}, args...)
	var stderr strings.Builder
	cmd := exec.Command("nsenter", full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("on %s: crictl %s: %w: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// stop removes the node: kube-proxy and kubelet, every pod (CNI DEL through
// containerd), containerd, then whatever still runs in its mount namespace or
// cgroups, and the cgroups. The network namespace belongs to the topology.
func (n *Node) stop() {
	if n.init == nil {
		if n.cgroupRoot != "" {
			n.removeCgroups()
		}
		return
	}
	n.kubeProxy.Stop(3 * time.Second)
	n.kubelet.Stop(3 * time.Second)
	if done, _ := n.containerd.Exited(); !done {
		n.Crictl("rmp", "-af")
	}
	n.containerd.Stop(5 * time.Second)
	mnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", n.init.Pid()))
	n.init.Stop(time.Second)
	if mnt != "" {
		killByMountNS(mnt)
	}
	n.removeCgroups()
	n.init = nil
}

func (n *Node) makeCgroups() error {
	n.cgroupRoot = "/" + n.Name
	for _, h := range cgroupHierarchies() {
		if err := os.MkdirAll(filepath.Join(h, n.cgroupRoot), 0o755); err != nil {
			return fmt.Errorf("node %s: cgroup %s: %w", n.Name, h, err)
		}
	}
	return nil
}

// removeCgroups kills what is left in the node's cgroups (pods' processes)
// and removes the cgroup directories, deepest first.
func (n *Node) removeCgroups() {
	hier := cgroupHierarchies()
	for try := 0; try < 20; try++ {
		left := 0
		for _, h := range hier {
			filepath.Walk(filepath.Join(h, n.cgroupRoot), func(p string, info os.FileInfo, err error) error {
				if err != nil || info.Name() != "cgroup.procs" {
					return nil
				}
				b, _ := os.ReadFile(p)
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						syscall.Kill(pid, syscall.SIGKILL)
						left++
					}
				}
				return nil
			})
		}
		if left == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, h := range hier {
		var dirs []string
		filepath.Walk(filepath.Join(h, n.cgroupRoot), func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			os.Remove(dirs[i])
		}
	}
}

// cgroupHierarchies lists the mounted cgroup hierarchies (v1 controllers,
// name=systemd, unified).
func cgroupHierarchies() []string {
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return out
}

// killByMountNS SIGKILLs every process in the mount namespace mnt (the
// containerd shims of a node).
func killByMountNS(mnt string) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if l, _ := os.Readlink(p + "/ns/mnt"); l == mnt {
			if pid, err := strconv.Atoi(filepath.Base(p)); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func waitFile(path string, timeout time.Duration, p *k8senv.Process) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if done, werr := p.Exited(); done {
			return fmt.Errorf("exited: %v", werr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out")
}
