package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
)

// ModeOf reads the datapath node a uses towards node b from a's kernel: the
// route to b's pod CIDR goes through the VXLAN device ("vxlan"), straight or
// via a gateway on the uplink ("native"), or is missing ("unreachable").
func (c *Cluster) ModeOf(a, b *Node, family int) (string, string, error) {
	cidrs, err := c.PodCIDRs(b.Name)
	if err != nil {
		return "", "", err
	}
	if family >= len(cidrs) {
		return "", "", fmt.Errorf("node %s has no pod CIDR #%d", b.Name, family)
	}
	ipFamily := "-4"
	if strings.Contains(cidrs[family], ":") {
		ipFamily = "-6" // `ip route show PREFIX` does not infer the family
	}
	out, err := a.Exec("ip", ipFamily, "route", "show", cidrs[family])
	if err != nil {
		return "", "", err
	}
	out = strings.TrimSpace(out)
	switch {
	case out == "":
		return "unreachable", "(no route)", nil
	case strings.Contains(out, "vxlan"), strings.Contains(out, "dev oo-vx"):
		return "vxlan", out, nil
	case strings.Contains(out, "geneve"):
		return "geneve", out, nil
	}
	return "native", out, nil
}

// PodCIDRs returns a node's spec.podCIDRs.
func (c *Cluster) PodCIDRs(node string) ([]string, error) {
	n, err := c.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if len(n.Spec.PodCIDRs) == 0 {
		return nil, fmt.Errorf("node %s has no pod CIDR", node)
	}
	return n.Spec.PodCIDRs, nil
}

// Doctor runs `offload-overlay-agent doctor --peer IP -o json` in the agent
// pod on node a for peer b and returns the decided mode, rule and source
// ("agent-state" when doctor found b in the agent's peers file).
func (c *Cluster) Doctor(a, b *Node) (mode string, rule int, source string, err error) {
	r, err := c.DoctorReport(a, b)
	if err != nil {
		return "", 0, "", err
	}
	return string(r.Decision.Mode), r.Decision.Rule, r.Decision.Source, nil
}

// CheckModes compares, for every ordered pair of nodes, the datapath the
// agent programmed with the lab's prediction, and doctor's mode with it:
// doctor reads the agent's peers file (the peer's published facts, both
// native probe results, whether the tunnel underlays carry the pod CIDRs),
// so it knows every pair, including those decided by the peer's facts (a
// tunnel underlay at the other end, a native probe through a router).
func CheckModes(t *testing.T, c *Cluster, predict func(a, b *Node) string) {
	for _, a := range c.Nodes {
		for _, b := range c.Nodes {
			if a == b {
				continue
			}
			want := predict(a, b)
			var got, route string
			families := 1
			if a.IPv6 != "" {
				families = 2
			}
			err := waitFor(30e9, func() error {
				var routes []string
				for f := 0; f < families; f++ {
					var err error
					var r string
					got, r, err = c.ModeOf(a, b, f)
					if err == nil && got != want {
						err = fmt.Errorf("mode %s (%s)", got, r)
					}
					if err != nil {
						return err
					}
					routes = append(routes, r)
				}
				route = strings.Join(routes, " | ")
				return nil
			})
			// The agent writes its peers file right after programming the
			// kernel: give doctor the same sync a moment to land.
			var dm, source string
			var rule int
			derr := waitFor(10e9, func() error {
				var err error
				dm, rule, source, err = c.Doctor(a, b)
				if err == nil && (dm != want || source != "agent-state") {
					err = fmt.Errorf("mode %s rule %d from %s", dm, rule, source)
				}
				return err
			})
			doc := fmt.Sprintf("doctor: %s rule %d (%s)", dm, rule, source)
			if derr != nil {
				doc = "doctor: " + derr.Error()
			}
			if err != nil {
				t.Errorf("%s -> %s: %v, lab predicts %s; %s", a.Name, b.Name, err, want, doc)
				continue
			}
			if derr != nil {
				t.Errorf("%s -> %s: %s, but the agent programmed %s as the lab predicts", a.Name, b.Name, doc, want)
			}
			t.Logf("%s -> %s: %-7s as predicted [%s] %s", a.Name, b.Name, got, route, doc)
		}
	}
}

// CheckLibCNI drives the installed conflist through libcni on node n: ADD,
// CHECK, STATUS, GC (keeping the runtime's sandboxes), DEL.
func CheckLibCNI(t *testing.T, c *Cluster, n *Node) {
	ids, err := n.Crictl("pods", "-q")
	if err != nil {
		t.Fatal(err)
	}
	valid := strings.Join(strings.Fields(ids), ",")
	out, err := n.Exec(filepath.Join(c.Dir, "cnidrive"), "-valid", valid)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "OK") {
			t.Logf("%s: %s", n.Name, l)
		} else {
			t.Errorf("%s: %s", n.Name, l)
		}
	}
	if err != nil && !t.Failed() {
		t.Errorf("%s: cnidrive: %v", n.Name, err)
	}
}

var vethLine = regexp.MustCompile(`(?m)^\d+: (\S+?)(@\S+)?:`)

// Leftovers lists what pods left on a node: veths, routes to pod addresses
// (/32 or /128 through a veth) and host-local allocations.
func (n *Node) Leftovers() ([]string, error) {
	var left []string
	links, err := n.Exec("ip", "-o", "link", "show", "type", "veth")
	if err != nil {
		return nil, err
	}
	for _, m := range vethLine.FindAllStringSubmatch(links, -1) {
		if m[1] != "eth0" { // the node's own uplink is a veth too
			left = append(left, "veth "+m[1])
		}
	}
	routes, err := n.Exec("ip", "route", "show", "scope", "link")
	if err != nil {
		return nil, err
	}
	for _, r := range strings.Split(strings.TrimSpace(routes), "\n") {
		if f := strings.Fields(r); len(f) > 2 && !strings.Contains(f[0], "/") && f[1] == "dev" && f[2] != "eth0" && !strings.HasPrefix(f[2], "oo-") {
			left = append(left, "route "+r)
		}
	}
	ents, _ := filepath.Glob(filepath.Join(n.Dir, "root/var/lib/cni/networks/*/*"))
	for _, e := range ents {
		if b := filepath.Base(e); strings.Count(b, ".") == 3 || strings.Contains(b, ":") {
			left = append(left, "ipam "+e)
		}
	}
	sort.Strings(left)
	return left, nil
}

// NetSnapshot is a node's network state that offload-overlay may change:
// links (name, type), routes, permanent neighbours, FDB entries of
// non-bridge-port devices, and iptables rules outside kube-proxy's and
// kubelet's chains.
func (n *Node) NetSnapshot() (string, error) {
	var b strings.Builder
	for _, cmd := range [][]string{
		{"ip", "-o", "link", "show"},
		{"ip", "route", "show", "table", "all"},
		{"ip", "-6", "route", "show", "table", "all"},
		{"ip", "neigh", "show", "nud", "permanent"},
		{"ip", "rule", "show"},
		{"iptables-save"},
		{"ip6tables-save"},
	} {
		out, err := n.Exec(cmd...)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "## %s\n", strings.Join(cmd, " "))
		for _, l := range strings.Split(out, "\n") {
			if keepSnapshotLine(cmd[0], l) {
				b.WriteString(normalizeLine(l) + "\n")
			}
		}
	}
	return b.String(), nil
}

var linkIndex = regexp.MustCompile(`^\d+: `)
var volatile = regexp.MustCompile(`\[\d+:\d+\]|link-netnsid \d+|altname \S+|\\\s+link/ether [0-9a-f:]+ brd [0-9a-f:]+`)

func keepSnapshotLine(cmd, l string) bool {
	if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
		return false
	}
	if strings.HasSuffix(cmd, "tables-save") {
		// kube-proxy's and kubelet's own rules are the same before and after
		// but carry counters/hashes that change; they are not ours.
		// portmap's static CNI-HOSTPORT-* chains stay by design (shared by
		// every portmap user on the node).
		return !strings.Contains(l, "KUBE-") && !strings.Contains(l, "CNI-HOSTPORT-") && !strings.HasPrefix(l, ":")
	}
	return true
}

func normalizeLine(l string) string {
	return volatile.ReplaceAllString(linkIndex.ReplaceAllString(l, ""), "")
}

// Facts returns the agent's published annotation on node name.
func (c *Cluster) Facts(name string) (*nodeinfo.Facts, error) {
	n, err := c.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var f nodeinfo.Facts
	if err := json.Unmarshal([]byte(n.Annotations[nodeinfo.AnnotationKey]), &f); err != nil {
		return nil, fmt.Errorf("node %s annotation %s: %w", name, nodeinfo.AnnotationKey, err)
	}
	return &f, nil
}

// CheckNativeProbesPublished: every node's annotation reports a successful
// native probe to every other node (off-link peers whose pod CIDRs the
// underlay routes: decision rule 2 needs both ends to say so).
func CheckNativeProbesPublished(t *testing.T, c *Cluster) {
	for _, a := range c.Nodes {
		f, err := c.Facts(a.Name)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, b := range c.Nodes {
			if a != b && !f.NativeProbe[b.Name] {
				t.Errorf("%s's annotation: nativeProbe[%s] = %v, want true (annotation %+v)", a.Name, b.Name, f.NativeProbe[b.Name], f.NativeProbe)
			}
		}
		t.Logf("%s's annotation: nativeProbe %v, verdict %+v", a.Name, f.NativeProbe, f.Verdict)
	}
}

// CheckAnnotations: each node's published facts match its underlay: tunnel
// segmentation off exactly where the lab turned it off, a tunnel underlay
// exactly on the tunnel segment, the node IP as endpoint.
func CheckAnnotations(t *testing.T, c *Cluster) {
	for _, n := range c.Nodes {
		tn := c.Topo.NodeByName(strings.TrimPrefix(n.Name, Prefix))
		f, err := c.Facts(n.Name)
		if err != nil {
			t.Error(err)
			continue
		}
		wantSeg := !tn.NoTunnelOffload && tn.Segment != "x"
		if tn.Segment != "x" && f.Verdict.TunnelSegmentation != wantSeg {
			t.Errorf("%s: verdict tunnelSegmentation %v, want %v (%s)", n.Name, f.Verdict.TunnelSegmentation, wantSeg, f.Verdict.Blocker)
		}
		if (f.Verdict.UnderlayTunnel != "") != (tn.Segment == "x") {
			t.Errorf("%s: verdict underlayTunnel %q on segment %s", n.Name, f.Verdict.UnderlayTunnel, tn.Segment)
		}
		if len(f.Endpoints) == 0 || f.Endpoints[0].IP != n.IP {
			t.Errorf("%s: endpoints %+v, want %s first", n.Name, f.Endpoints, n.IP)
		}
		t.Logf("%s (segment %s): tunnelSegmentation=%v underlayTunnel=%q encaps=%v nativeProbe=%v underlayRoutes=%v",
			n.Name, tn.Segment, f.Verdict.TunnelSegmentation, f.Verdict.UnderlayTunnel, f.Encaps, f.NativeProbe, f.UnderlayRoutes)
	}
}
