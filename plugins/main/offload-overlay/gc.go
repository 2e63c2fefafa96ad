package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/offload-overlay/offload-overlay/pkg/attachlock"
	"github.com/offload-overlay/offload-overlay/pkg/cniexec"
	"github.com/offload-overlay/offload-overlay/pkg/config"
	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

// hostLocalDefaultDataDir is host-local's default "dataDir".
const hostLocalDefaultDataDir = "/var/lib/cni/networks"

// cmdGC removes what belongs to attachments of this network that are not in
// cni.dev/valid-attachments, and nothing else: host veths carrying this
// network's alias (their routes go with them) and IPAM allocations. IPAM
// gets a GC call of its own, but host-local v1.9.1 ignores GC, so for
// host-local the plugin reads its store and releases stale records with
// per-attachment DELs.
func cmdGC(args *skel.CmdArgs) error {
	conf, err := config.Parse(args.StdinData)
	if err != nil {
		return err
	}
	// Wait for ADDs and DELs in flight; hold new ones back (pkg/attachlock).
	lock, err := attachlock.Exclusive(conf.StateDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	valid := map[podnet.Attachment]bool{}
	for _, v := range conf.ValidAttachments {
		valid[podnet.Attachment{Network: conf.Name, ContainerID: v.ContainerID, IfName: v.IfName}] = true
	}
	host, err := podnet.OpenHost()
	if err != nil {
		return err
	}
	defer host.Close()
	node, _ := readNode(conf)
	ipamConf, err := conf.IPAMConfigForRelease(node)
	if err != nil {
		return err
	}

	stale := map[podnet.Attachment]bool{}
	var errs []error
	veths, err := podnet.ListOwnedVeths(host, conf.Name)
	if err != nil {
		return err
	}
	for _, v := range veths {
		if valid[v.Attachment] {
			continue
		}
		stale[v.Attachment] = true
		errs = append(errs, podnet.DeleteHostVeth(host, v.Name))
	}
	if conf.IPAM.Type == config.HostLocal {
		allocs, err := hostLocalAttachments(conf)
		errs = append(errs, err)
		for _, a := range allocs {
			if !valid[a] {
				stale[a] = true
			}
		}
	}
	for a := range stale {
		errs = append(errs, releaseIPAM(conf.IPAM.Type, ipamConf, a))
	}
	if err := ipamGC(conf.IPAM.Type, ipamConf); err != nil {
		errs = append(errs, fmt.Errorf("IPAM %s GC: %w", conf.IPAM.Type, err))
	}
	return errors.Join(errs...)
}

// hostLocalAttachments lists the attachments holding an address in
// host-local's store: one file per address in dataDir/<network>/, whose
// content is "containerID\r\nifname".
func hostLocalAttachments(conf *config.NetConf) ([]podnet.Attachment, error) {
	dataDir := conf.IPAMString("dataDir")
	if dataDir == "" {
		dataDir = hostLocalDefaultDataDir
	}
	dir := filepath.Join(dataDir, conf.Name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading host-local store %s: %w", dir, err)
	}
	var out []podnet.Attachment
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), "last_reserved_ip") || e.Name() == "lock" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // released meanwhile
		}
		id, ifname, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if !ok {
			continue // pre-ifname format: cannot match an attachment safely
		}
		out = append(out, podnet.Attachment{Network: conf.Name,
			ContainerID: strings.TrimSpace(id), IfName: strings.TrimSpace(ifname)})
	}
	return out, nil
}

// releaseIPAM runs the IPAM plugin's DEL for one attachment (GC has no
// container ID or ifname of its own to pass through the environment).
func releaseIPAM(plugin string, ipamConf []byte, a podnet.Attachment) error {
	o := cniexec.Override{Command: "DEL", ContainerID: a.ContainerID, IfName: a.IfName}
	if _, err := cniexec.Run(plugin, ipamConf, o); err != nil {
		return fmt.Errorf("IPAM %s DEL of %s/%s: %w", plugin, a.ContainerID, a.IfName, err)
	}
	return nil
}
