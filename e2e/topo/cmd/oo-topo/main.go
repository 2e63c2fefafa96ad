// Command oo-topo builds and removes the lab's node underlays from a shell
// (the cluster e2e reuses the lab's topology through it).
//
//	oo-topo up --variant 5 [--prefix ooc-] [--site 29] [--pod-routes] [-o json]
//	oo-topo up --spec spec.json -o json
//	oo-topo up --seed 17          (a topology fuzzer case: prefix oo-tf-, site 24, pod routes as the lab's)
//	oo-topo pod-cidrs --prefix ooc- --site 29 --variant 5 NODE CIDR...
//	oo-topo down [--prefix ooc-]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/e2e/topofuzz"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "pod-cidrs":
		err = podCIDRs(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oo-topo:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: oo-topo up|down|pod-cidrs [flags] (see -h of each)")
	os.Exit(2)
}

type common struct {
	prefix, specFile, out string
	site, variant         int
	podRoutes             bool
	ipv6Only, bridge      bool
	seed                  int64
	fs                    *flag.FlagSet
}

func flags(name string, args []string) (*flag.FlagSet, *common) {
	c := &common{}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&c.prefix, "prefix", topo.DefaultPrefix, "name prefix of every namespace and host link (at most 6 characters)")
	fs.IntVar(&c.site, "site", topo.DefaultSite, "second octet of the lab's 172.S.0.0/16 (16..31)")
	fs.IntVar(&c.variant, "variant", 1, "underlay variant 1..5 (see package topo)")
	fs.BoolVar(&c.podRoutes, "pod-routes", false, "the router routes pod CIDRs on every segment")
	fs.BoolVar(&c.ipv6Only, "ipv6-only", false, "IPv6 only on node uplinks, host link and internet (spec ipv6Only)")
	fs.BoolVar(&c.bridge, "bridge-uplink", false, "every node's IPs on a bridge br0 above its uplink (spec bridgeUplink)")
	fs.StringVar(&c.specFile, "spec", "", "JSON topo.Spec file instead of --variant")
	fs.StringVar(&c.out, "o", "text", "output: text or json")
	fs.Int64Var(&c.seed, "seed", 0, "build the topology fuzzer's case for this seed (prefix "+topofuzz.Prefix+" and its site unless given)")
	c.fs = fs
	return fs, c
}

func (c *common) spec() (topo.Spec, error) {
	var s topo.Spec
	if c.seed != 0 {
		set := map[string]bool{}
		c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["prefix"] {
			c.prefix = topofuzz.Prefix
		}
		if !set["site"] {
			c.site = topofuzz.Site
		}
		fc := topofuzz.Generate(c.seed, c.prefix, c.site)
		fmt.Fprint(os.Stderr, fc)
		return fc.WithPodCIDRs().Spec, nil
	}
	if c.specFile != "" {
		b, err := os.ReadFile(c.specFile)
		if err != nil {
			return s, fmt.Errorf("--spec: %w", err)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("--spec %s: %w", c.specFile, err)
		}
	} else {
		var err error
		if s, err = topo.VariantSpec(c.variant, c.podRoutes); err != nil {
			return s, fmt.Errorf("--variant: %w", err)
		}
	}
	s.Prefix, s.Site = c.prefix, c.site
	s.IPv6Only = s.IPv6Only || c.ipv6Only
	for i := range s.Nodes {
		s.Nodes[i].BridgeUplink = s.Nodes[i].BridgeUplink || c.bridge
	}
	return s, nil
}

func up(args []string) error {
	fs, c := flags("up", args)
	_ = fs.Parse(args)
	s, err := c.spec()
	if err != nil {
		return err
	}
	t, err := topo.Up(s)
	if err != nil {
		return err
	}
	return print(c.out, t)
}

func down(args []string) error {
	fs, c := flags("down", args)
	_ = fs.Parse(args)
	return topo.Down(c.prefix)
}

// podCIDRs re-derives the topology of a running lab (addresses are a pure
// function of the spec) and routes NODE's pod CIDRs on the router.
func podCIDRs(args []string) error {
	fs, c := flags("pod-cidrs", args)
	_ = fs.Parse(args)
	if fs.NArg() < 2 {
		return fmt.Errorf("usage: pod-cidrs [flags] NODE CIDR...")
	}
	s, err := c.spec()
	if err != nil {
		return err
	}
	t, err := topo.Describe(s)
	if err != nil {
		return err
	}
	return t.SetPodCIDRs(fs.Arg(0), fs.Args()[1:])
}

func print(format string, t *topo.Topology) error {
	if format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
	fmt.Printf("lab %s* site %d: switch %s, router %s, internet %s %v, host %s %s\n",
		t.Prefix, t.Site, t.Switch, t.Router, t.Internet, t.InternetIPs, t.HostLink, t.HostIP)
	for _, n := range t.Nodes {
		fmt.Printf("  %-4s netns %-8s segment %s uplink %-4s %s %s gw %s mtu %d tnl-offload-off=%v\n",
			n.Name, n.Netns, n.Segment, n.Uplink, n.IPv4, n.IPv6, n.Gateway4, n.MTU, n.NoTunnelOffload)
	}
	return nil
}
