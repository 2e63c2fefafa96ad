package doctor_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// encaps is this lab kernel's probe result, fixed so that the golden files
// do not depend on the kernel the tests run on.
var encaps = []offload.EncapSupport{
	{Kind: "vxlan", OK: true},
	{Kind: "geneve", Error: fmt.Errorf("ip link add type geneve: Unknown device type: %w", offload.ErrKindUnsupported)},
}

type goldenCase struct {
	name     string
	underlay offloadtest.Underlay
	peer     net.IP
	podCIDR  *net.IPNet
	cfg      decision.Config
}

func goldenCases() []goldenCase {
	var cs []goldenCase
	for _, u := range offloadtest.All {
		peer := offloadtest.OffLinkPeer
		if u == offloadtest.Veth6 {
			peer = offloadtest.OffLinkPeer6
		}
		cs = append(cs, goldenCase{name: string(u), underlay: u, peer: peer})
	}
	return append(cs,
		goldenCase{name: "veth-onlink", underlay: offloadtest.Veth, peer: offloadtest.OnLinkPeer},
		goldenCase{name: "veth-nopeer", underlay: offloadtest.Veth},
		goldenCase{name: "virtio-like-underlay-routes", underlay: offloadtest.VirtioLike, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{UnderlayRoutesPodCIDRs: true}},
		goldenCase{name: "vxlan-underlay-carries", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			podCIDR: offloadtest.RemotePods},
		goldenCase{name: "vxlan-underlay-other-cidr", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			podCIDR: offloadtest.OtherPods},
		goldenCase{name: "vxlan-underlay-forced-vxlan", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{Mode: decision.ModeVXLAN}},
		goldenCase{name: "vxlan-underlay-nested", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{AllowNestedEncap: true}},
		goldenCase{name: "veth-forced-geneve", underlay: offloadtest.Veth, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{Mode: decision.ModeGeneve}},
	)
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			n := offloadtest.Build(t, c.underlay)
			r, err := doctor.Build(doctor.Options{NetNS: n, Node: "node-a", Peer: c.peer, PeerPodCIDR: c.podCIDR,
				Config: c.cfg, Encaps: encaps})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			js, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".json", js)
			golden(t, c.name+".txt", text.Bytes())
			checkStableKeys(t, js)
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// checkStableKeys asserts the keys the README promises to scripts.
func checkStableKeys(t *testing.T, js []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"node", "peer", "path", "verdict", "decision", "segmentation", "encaps", "route"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report lacks key %q", k)
		}
	}
	dev := doc["path"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "kind", "driver", "mtu", "features"} {
		if _, ok := dev[k]; !ok {
			t.Errorf("path[0] lacks key %q", k)
		}
	}
	for _, k := range []string{"tunnelSegmentation", "tunnelSegmentationCsum", "underlayTunnel"} {
		if _, ok := doc["verdict"].(map[string]any)[k]; !ok {
			t.Errorf("verdict lacks key %q", k)
		}
	}
	for _, k := range []string{"mode", "mtu", "reasons"} {
		if _, ok := doc["decision"].(map[string]any)[k]; !ok {
			t.Errorf("decision lacks key %q", k)
		}
	}
	for _, w := range dev["features"].(map[string]any) {
		s := w.(string)
		if !strings.HasPrefix(s, "on") && !strings.HasPrefix(s, "off") {
			t.Errorf("feature word %q is not ethtool's", s)
		}
	}
}

// The decision doctor reports follows the underlay as the issue describes.
func TestDoctorModes(t *testing.T) {
	want := map[string]decision.Mode{
		"veth": decision.ModeVXLAN, "virtio-like": decision.ModeVXLAN, "vxlan-underlay": decision.ModeUnreachable,
		"bridge": decision.ModeVXLAN, "bridge-mixed": decision.ModeVXLAN, "bridge-fdb": decision.ModeVXLAN, "macvlan": decision.ModeVXLAN,
		"macvlan-weak": decision.ModeVXLAN, "tun-underlay": decision.ModeUnreachable, "veth6": decision.ModeVXLAN,
		"veth-onlink": decision.ModeNative, "veth-nopeer": decision.ModeVXLAN,
		"virtio-like-underlay-routes": decision.ModeNative, "vxlan-underlay-carries": decision.ModeNative,
		"vxlan-underlay-other-cidr": decision.ModeUnreachable, "vxlan-underlay-forced-vxlan": decision.ModeUnreachable,
		"vxlan-underlay-nested": decision.ModeVXLAN, "veth-forced-geneve": decision.ModeUnreachable,
	}
	for _, c := range goldenCases() {
		b, err := os.ReadFile(filepath.Join("testdata", c.name+".json"))
		if err != nil {
			t.Skipf("golden files not generated: %v", err)
		}
		var r doctor.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Decision.Mode != want[c.name] {
			t.Errorf("%s: mode %s, want %s", c.name, r.Decision.Mode, want[c.name])
		}
	}
}
