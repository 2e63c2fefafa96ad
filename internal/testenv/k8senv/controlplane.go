package k8senv

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ControllerManagerOptions configures StartControllerManager.
type ControllerManagerOptions struct {
	// ClusterCIDR enables --allocate-node-cidrs: each Node gets spec.podCIDRs
	// from it (comma-separated, one per family). Empty: no allocation.
	ClusterCIDR string
	// NodeCIDRMaskSize for IPv4 (default 24) and NodeCIDRMaskSizeIPv6
	// (default 64; at most 16 bits longer than the IPv6 cluster CIDR).
	NodeCIDRMaskSize     int
	NodeCIDRMaskSizeIPv6 int
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// StartControllerManager runs kube-controller-manager against e (as admin),
// stopped by e.Stop before the API server. Node IPAM, the node lifecycle
// controller (removes the not-ready taint), the ServiceAccount and root CA
// publishers and the endpoint controllers all run, as on a real cluster.
func (e *Env) StartControllerManager(t testing.TB, o ControllerManagerOptions) *Process {
	t.Helper()
	RequireBinaries(t, "kube-controller-manager")
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--kubeconfig=" + e.Kubeconfig,
		"--authentication-kubeconfig=" + e.Kubeconfig, "--authorization-kubeconfig=" + e.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port), "--leader-elect=false",
		"--service-account-private-key-file=" + e.SAKeyFile, "--root-ca-file=" + e.CACertFile,
		"--use-service-account-credentials=false", "--controllers=*",
		"--service-cluster-ip-range=" + e.ServiceClusterIPRange,
		"--node-monitor-grace-period=20s",
	}
	if o.ClusterCIDR != "" {
		mask := o.NodeCIDRMaskSize
		if mask == 0 {
			mask = 24
		}
		mask6 := o.NodeCIDRMaskSizeIPv6
		if mask6 == 0 {
			mask6 = 64
		}
		args = append(args, "--allocate-node-cidrs=true", "--cluster-cidr="+o.ClusterCIDR)
		if strings.Contains(o.ClusterCIDR, ",") { // dual-stack: one mask per family
			args = append(args, "--node-cidr-mask-size-ipv4="+strconv.Itoa(mask), "--node-cidr-mask-size-ipv6="+strconv.Itoa(mask6))
		} else if strings.Contains(o.ClusterCIDR, ":") {
			args = append(args, "--node-cidr-mask-size="+strconv.Itoa(mask6))
		} else {
			args = append(args, "--node-cidr-mask-size="+strconv.Itoa(mask))
		}
	}
	args = append(args, o.ExtraArgs...)
	return e.startExtra(t, "kube-controller-manager", args)
}

// StartScheduler runs kube-scheduler against e (as admin), stopped by e.Stop.
func (e *Env) StartScheduler(t testing.TB) *Process {
	t.Helper()
	RequireBinaries(t, "kube-scheduler")
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return e.startExtra(t, "kube-scheduler", []string{
		"--kubeconfig=" + e.Kubeconfig,
		"--authentication-kubeconfig=" + e.Kubeconfig, "--authorization-kubeconfig=" + e.Kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
	})
}

func (e *Env) startExtra(t testing.TB, name string, args []string) *Process {
	t.Helper()
	p, err := StartProcess(name, Bin(name), args, filepath.Join(e.Dir, name+".log"), nil)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	e.extra = append(e.extra, p)
	time.Sleep(100 * time.Millisecond)
	if done, werr := p.Exited(); done {
		t.Fatalf("%s exited at once: %v\n%s", name, werr, p.Tail(20))
	}
	return p
}

// Track adds a process started elsewhere (for example a kubelet) to the ones
// e.Stop stops before the API server.
func (e *Env) Track(p *Process) { e.extra = append(e.extra, p) }

// String describes the Env for logs.
func (e *Env) String() string { return fmt.Sprintf("k8senv(%s, dir %s)", e.URL, e.Dir) }
