package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

// allVersions are the CNI spec versions the plugin must serve.
var allVersions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

// families are the address plans tested for every version.
var families = map[string][]string{
	"v4":   {"10.71.0.0/24"},
	"v6":   {"fd71::/64"},
	"dual": {"10.71.0.0/24", "fd71::/64"},
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// refCNIDir returns the directory of the reference plugins (make ref-plugins)
// and puts it on PATH, which testutils passes as CNI_PATH.
func refCNIDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("REF_CNI_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache/offload-overlay/cni-plugins-v1.9.1")
	}
	if _, err := os.Stat(filepath.Join(dir, "host-local")); err != nil {
		t.Skipf("reference CNI plugins missing (run make ref-plugins): %v", err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

// newNS returns a throwaway network namespace, removed at cleanup.
func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("creating netns: %v", err)
	}
	t.Cleanup(func() {
		n.Close()
		_ = testutils.UnmountNS(n)
	})
	return n
}

// testConf is a network configuration for tests.
type testConf struct {
	Version  string
	Name     string
	MTU      int
	DataDir  string
	StateDir string
	Subnets  []string // explicit ranges; none = from node state
	Extra    map[string]any
	IPAM     map[string]any // extra ipam fields
}

func (c testConf) bytes(t *testing.T) []byte {
	t.Helper()
	ipam := map[string]any{"type": "host-local", "dataDir": c.DataDir}
	if len(c.Subnets) > 0 {
		var ranges [][]map[string]string
		for _, s := range c.Subnets {
			ranges = append(ranges, []map[string]string{{"subnet": s}})
		}
		ipam["ranges"] = ranges
	}
	for k, v := range c.IPAM {
		ipam[k] = v
	}
	m := map[string]any{"cniVersion": c.Version, "name": c.Name, "type": "offload-overlay", "ipam": ipam}
	if c.MTU != 0 {
		m["mtu"] = c.MTU
	}
	if c.StateDir != "" {
		m["stateDir"] = c.StateDir
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withPrevResult returns conf with prevResult set to raw.
func withPrevResult(t *testing.T, conf, raw []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(conf, &m); err != nil {
		t.Fatal(err)
	}
	var prev map[string]any
	if err := json.Unmarshal(raw, &prev); err != nil {
		t.Fatal(err)
	}
	m["prevResult"] = prev
	b, _ := json.Marshal(m)
	return b
}

// pod is one attachment under test.
type pod struct {
	ns     ns.NetNS
	args   *skel.CmdArgs
	result *current.Result
	raw    []byte
}

func newPod(t *testing.T, id string, conf []byte) *pod {
	return &pod{ns: newNS(t), args: &skel.CmdArgs{ContainerID: id, IfName: "eth0", StdinData: conf}}
}

func (p *pod) add(t *testing.T, host ns.NetNS) error {
	t.Helper()
	p.args.Netns = p.ns.Path()
	var err error
	_ = host.Do(func(ns.NetNS) error {
		var r types.Result
		r, p.raw, err = testutils.CmdAddWithArgs(p.args, func() error { return cmdAdd(p.args) })
		if err == nil {
			p.result, err = current.NewResultFromResult(r)
		}
		return nil
	})
	return err
}

func (p *pod) del(host ns.NetNS) error {
	return host.Do(func(ns.NetNS) error {
		return testutils.CmdDelWithArgs(p.args, func() error { return cmdDel(p.args) })
	})
}

func (p *pod) check(t *testing.T, host ns.NetNS) error {
	t.Helper()
	args := *p.args
	args.StdinData = withPrevResult(t, p.args.StdinData, p.raw)
	return host.Do(func(ns.NetNS) error {
		return testutils.CmdCheckWithArgs(&args, func() error { return cmdCheck(&args) })
	})
}

func (p *pod) hostVeth() string {
	return podnet.Attachment{ContainerID: p.args.ContainerID, IfName: p.args.IfName}.HostVeth()
}

// podIPs returns the pod's addresses from its result.
func (p *pod) podIPs() []net.IP {
	var out []net.IP
	for _, ipc := range p.result.IPs {
		out = append(out, ipc.Address.IP)
	}
	return out
}

// handle opens a netlink handle in n.
func handle(t *testing.T, n ns.NetNS) netlinksafe.Handle {
	t.Helper()
	var h netlinksafe.Handle
	err := n.Do(func(ns.NetNS) error {
		var err error
		h, err = netlinksafe.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// linkExists reports whether n has a link called name.
func linkExists(t *testing.T, n ns.NetNS, name string) bool {
	t.Helper()
	_, err := handle(t, n).LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// routeDsts lists the destinations of all routes in n's main table.
func routeDsts(t *testing.T, n ns.NetNS) []string {
	t.Helper()
	routes, err := handle(t, n).RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range routes {
		if r.Dst != nil {
			out = append(out, r.Dst.String())
		}
	}
	return out
}

// ipamFiles lists host-local's address records in dataDir for network.
func ipamFiles(t *testing.T, dataDir, network string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, network))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// sysctl reads a sysctl in n.
func sysctl(t *testing.T, n ns.NetNS, path string) string {
	t.Helper()
	var v string
	_ = n.Do(func(ns.NetNS) error {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v = strings.TrimSpace(string(b))
		return nil
	})
	return v
}

// ping sends one echo from inside n to dst.
func ping(n ns.NetNS, dst string) error {
	return n.Do(func(ns.NetNS) error {
		out, err := exec.Command("ping", "-c", "1", "-W", "3", dst).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ping %s: %w: %s", dst, err, out)
		}
		return nil
	})
}
