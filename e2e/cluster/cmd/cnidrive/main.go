// Command cnidrive drives the installed conflist through libcni, as a
// container runtime would, inside one cluster e2e node (run with nsenter into
// the node's mount and network namespaces): ADD two attachments, CHECK them,
// STATUS, GC keeping one, DEL both. containerd 1.6 only ever calls ADD and
// DEL, and containerd 2 adds STATUS but never GC (its go-cni has no GC call),
// so this is how the e2e exercises CHECK and GC on the real install. The
// shipped conflist offers cniVersions 1.0.0 and 1.1.0, so libcni already
// picks 1.1.0; the raise below keeps working with a conflist pinned to 1.0.0.
//
//	cnidrive -valid ID,ID,...   sandboxes the runtime knows (kept by GC)
//
// Prints one "OK"/"FAIL" line per step; exits 1 on any failure.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/testutils"
)

var failed bool

func step(name string, err error, detail string) {
	if err != nil {
		failed = true
		fmt.Printf("FAIL %s: %v\n", name, err)
		return
	}
	fmt.Printf("OK %s %s\n", name, detail)
}

func main() {
	conflist := flag.String("conflist", "/etc/cni/net.d/10-offload-overlay.conflist", "installed conflist")
	binDir := flag.String("bin", "/opt/cni/bin", "CNI plugin directory")
	valid := flag.String("valid", "", "comma-separated sandbox IDs of the runtime's pods (kept by GC)")
	flag.Parse()
	if err := run(*conflist, *binDir, *valid); err != nil {
		fmt.Printf("FAIL %v\n", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

func run(conflist, binDir, valid string) error {
	ctx := context.Background()
	list, err := libcni.ConfListFromFile(conflist)
	if err != nil {
		return err
	}
	list11, err := withVersion(list, "1.1.0")
	if err != nil {
		return err
	}
	cache, err := os.MkdirTemp("", "cnidrive-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	cni := libcni.NewCNIConfigWithCacheDir([]string{binDir}, cache, nil)
	ipamDir := filepath.Join("/var/lib/cni/networks", list.Name)

	type att struct {
		rt   *libcni.RuntimeConf
		ip   string
		veth string // host side
	}
	var atts []att
	for _, id := range []string{"cnidrive-keep", "cnidrive-drop"} {
		netns, err := testutils.NewNS()
		if err != nil {
			return err
		}
		defer func() { netns.Close(); testutils.UnmountNS(netns) }()
		rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns.Path(), IfName: "eth0"}
		res, err := cni.AddNetworkList(ctx, list, rt)
		ip, veth := "", ""
		if err == nil {
			r, cerr := current.NewResultFromResult(res)
			if cerr == nil && len(r.IPs) > 0 {
				ip = r.IPs[0].Address.IP.String()
			}
			for _, i := range r.Interfaces {
				if i.Sandbox == "" && veth == "" {
					veth = i.Name
				}
			}
		}
		step("ADD "+id, err, ip+" "+veth)
		atts = append(atts, att{rt, ip, veth})
	}
	for _, a := range atts {
		step("CHECK "+a.rt.ContainerID, cni.CheckNetworkList(ctx, list, a.rt), "")
	}
	step("STATUS", cni.GetStatusNetworkList(ctx, list11), "(agent ready)")

	// GC as a runtime does: the valid list is every sandbox it knows plus the
	// attachment we keep; a fresh cache dir so that libcni itself deletes
	// nothing and the plugins' own GC has to release the dropped attachment.
	gcCache, _ := os.MkdirTemp("", "cnidrive-gc-")
	defer os.RemoveAll(gcCache)
	gc := libcni.NewCNIConfigWithCacheDir([]string{binDir}, gcCache, nil)
	keep := []types.GCAttachment{{ContainerID: atts[0].rt.ContainerID, IfName: "eth0"}}
	for _, id := range strings.Split(valid, ",") {
		if id != "" {
			keep = append(keep, types.GCAttachment{ContainerID: id, IfName: "eth0"})
		}
	}
	before := ipamFiles(ipamDir)
	err = gc.GCNetworkList(ctx, list11, &libcni.GCArgs{ValidAttachments: keep})
	after := ipamFiles(ipamDir)
	if err == nil {
		err = gcOutcome(before, after, atts[0].ip, atts[1].ip)
	}
	if err == nil {
		err = vethOutcome(atts[0].veth, atts[1].veth)
	}
	step("GC", err, fmt.Sprintf("kept %s (veth %s) and %d runtime sandboxes, released %s and removed veth %s (%d -> %d IPAM files)",
		atts[0].ip, atts[0].veth, len(keep)-1, atts[1].ip, atts[1].veth, len(before), len(after)))

	for _, a := range atts {
		step("DEL "+a.rt.ContainerID, cni.DelNetworkList(ctx, list, a.rt), "")
		step("DEL again "+a.rt.ContainerID, cni.DelNetworkList(ctx, list, a.rt), "(idempotent)")
	}
	left := ipamFiles(ipamDir)
	for _, a := range atts {
		if _, ok := left[a.ip]; ok {
			step("IPAM released", fmt.Errorf("%s still allocated after DEL", a.ip), "")
		}
	}
	return nil
}

// vethOutcome: GC removed the dropped attachment's host veth and kept the
// kept one's.
func vethOutcome(keep, drop string) error {
	if keep == "" || drop == "" {
		return fmt.Errorf("ADD result names no host veth (%q, %q)", keep, drop)
	}
	if _, err := net.InterfaceByName(keep); err != nil {
		return fmt.Errorf("GC removed the kept attachment's veth %s: %w", keep, err)
	}
	if _, err := net.InterfaceByName(drop); err == nil {
		return fmt.Errorf("GC left the dropped attachment's veth %s", drop)
	}
	return nil
}

// gcOutcome: the kept attachment and every other allocation stay, the
// dropped one is released.
func gcOutcome(before, after map[string]bool, keepIP, dropIP string) error {
	if !after[keepIP] {
		return fmt.Errorf("GC released the kept attachment's %s", keepIP)
	}
	if after[dropIP] {
		return fmt.Errorf("GC left the dropped attachment's %s allocated", dropIP)
	}
	for ip := range before {
		if ip != dropIP && !after[ip] {
			return fmt.Errorf("GC released %s, which belongs to a live sandbox", ip)
		}
	}
	return nil
}

// ipamFiles lists host-local's allocations (one file per IP).
func ipamFiles(dir string) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); strings.Count(n, ".") == 3 || strings.Contains(n, ":") {
			out[n] = true
		}
	}
	return out
}

func withVersion(list *libcni.NetworkConfigList, v string) (*libcni.NetworkConfigList, error) {
	var m map[string]any
	if err := json.Unmarshal(list.Bytes, &m); err != nil {
		return nil, err
	}
	m["cniVersion"] = v
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromBytes(b)
}
