package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

const base = `"cniVersion":"1.1.0","name":"pods","type":"offload-overlay"`

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantField string // "" = valid
		check     func(t *testing.T, c *NetConf)
	}{
		{name: "defaults", in: `{` + base + `,"ipam":{"type":"host-local"}}`,
			check: func(t *testing.T, c *NetConf) {
				if c.MTU != 0 || c.StateDir != state.DefaultDir || c.StateDirSet || c.HasRanges() {
					t.Errorf("defaults: mtu %d stateDir %q set %v ranges %v", c.MTU, c.StateDir, c.StateDirSet, c.HasRanges())
				}
			}},
		{name: "explicit", in: `{` + base + `,"mtu":1400,"stateDir":"/tmp/x","ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/64"}]]}}`,
			check: func(t *testing.T, c *NetConf) {
				if c.MTU != 1400 || c.StateDir != "/tmp/x" || !c.StateDirSet || !c.HasRanges() || c.Standalone() {
					t.Errorf("explicit: %+v", c)
				}
			}},
		{name: "standalone", in: `{` + base + `,"mtu":1400,"ipam":{"type":"host-local","subnet":"10.1.0.0/24"}}`,
			check: func(t *testing.T, c *NetConf) {
				if !c.Standalone() {
					t.Error("want standalone")
				}
			}},
		{name: "not json", in: `{`, wantField: "config"},
		{name: "null", in: `null`, wantField: "config"},
		{name: "array", in: `[]`, wantField: "config"},
		{name: "no name", in: `{"cniVersion":"1.0.0","type":"offload-overlay","ipam":{"type":"host-local"}}`, wantField: "name"},
		{name: "name with a colon", in: `{"cniVersion":"1.0.0","name":"a:b","type":"offload-overlay","ipam":{"type":"host-local"}}`, wantField: "name"},
		{name: "name too long", in: `{"cniVersion":"1.0.0","name":"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn","type":"offload-overlay","ipam":{"type":"host-local"}}`, wantField: "name"},
		{name: "name starting with a dash", in: `{"cniVersion":"1.0.0","name":"-x","type":"offload-overlay","ipam":{"type":"host-local"}}`, wantField: "name"},
		{name: "wrong type", in: `{"cniVersion":"1.0.0","name":"x","type":"ptp","ipam":{"type":"host-local"}}`, wantField: "type"},
		{name: "mtu string", in: `{` + base + `,"mtu":"1500","ipam":{"type":"host-local"}}`, wantField: "mtu"},
		{name: "mtu too small", in: `{` + base + `,"mtu":67,"ipam":{"type":"host-local"}}`, wantField: "mtu"},
		{name: "mtu too big", in: `{` + base + `,"mtu":65536,"ipam":{"type":"host-local"}}`, wantField: "mtu"},
		{name: "mtu negative", in: `{` + base + `,"mtu":-1,"ipam":{"type":"host-local"}}`, wantField: "mtu"},
		{name: "stateDir relative", in: `{` + base + `,"stateDir":"run/x","ipam":{"type":"host-local"}}`, wantField: "stateDir"},
		{name: "stateDir empty", in: `{` + base + `,"stateDir":"","ipam":{"type":"host-local"}}`, wantField: "stateDir"},
		{name: "no ipam", in: `{` + base + `}`, wantField: "ipam.type"},
		{name: "ipam not object", in: `{` + base + `,"ipam":3}`, wantField: "ipam"},
		{name: "bad subnet", in: `{` + base + `,"ipam":{"type":"host-local","subnet":"10.1.0.0"}}`, wantField: "ipam.subnet"},
		{name: "ranges not list", in: `{` + base + `,"ipam":{"type":"host-local","ranges":{}}}`, wantField: "ipam.ranges"},
		{name: "ranges empty", in: `{` + base + `,"ipam":{"type":"host-local","ranges":[]}}`, wantField: "ipam.ranges"},
		{name: "range set empty", in: `{` + base + `,"ipam":{"type":"host-local","ranges":[[]]}}`, wantField: "ipam.ranges[0]"},
		{name: "range bad subnet", in: `{` + base + `,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/129"}]]}}`, wantField: "ipam.ranges[1][0].subnet"},
		{name: "range subnet number", in: `{` + base + `,"ipam":{"type":"host-local","ranges":[[{"subnet":7}]]}}`, wantField: "ipam.ranges[0][0].subnet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			var ce *types.Error
			if !errors.As(err, &ce) || ce.Code != types.ErrInvalidNetworkConfig {
				t.Fatalf("want CNI error code 7, got %#v", err)
			}
			if !strings.Contains(ce.Msg, ": "+tc.wantField+": ") {
				t.Errorf("message %q does not name field %q", ce.Msg, tc.wantField)
			}
		})
	}
}

func TestDerive(t *testing.T) {
	noUplink := func() (int, error) { return 0, errors.New("no default route") }
	uplink9000 := func() (int, error) { return 9000, nil }
	node := &state.NodeState{Ready: true, MTU: 1450, PodCIDRs: []string{"10.244.1.0/24", "fd00:244:1::/64"},
		GSOMaxSize: 185000, GROMaxSize: 65536}
	tests := []struct {
		name     string
		conf     string
		node     *state.NodeState
		uplink   func() (int, error)
		wantMTU  int
		wantCode uint
		ranges   []string // expected subnets in ipam.ranges (nil: config unchanged)
		wantGSO  int
		wantGRO  int
	}{
		{name: "state fills mtu and ranges", conf: `{` + base + `,"ipam":{"type":"host-local","dataDir":"/d"}}`,
			node: node, uplink: noUplink, wantMTU: 1450, ranges: []string{"10.244.1.0/24", "fd00:244:1::/64"}, wantGSO: 185000},
		{name: "explicit wins", conf: `{` + base + `,"mtu":1300,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.9.0.0/24"}]]}}`,
			node: node, uplink: noUplink, wantMTU: 1300, wantGSO: 185000},
		{name: "uplink fallback", conf: `{` + base + `,"ipam":{"type":"host-local","subnet":"10.9.0.0/24"}}`,
			uplink: uplink9000, wantMTU: 9000},
		{name: "no mtu anywhere", conf: `{` + base + `,"ipam":{"type":"host-local","subnet":"10.9.0.0/24"}}`,
			uplink: noUplink, wantCode: types.ErrTryAgainLater},
		{name: "no ranges anywhere", conf: `{` + base + `,"mtu":1400,"ipam":{"type":"host-local"}}`,
			uplink: noUplink, wantCode: types.ErrTryAgainLater},
		{name: "other IPAM untouched", conf: `{` + base + `,"ipam":{"type":"dhcp"}}`,
			node: node, uplink: noUplink, wantMTU: 1450, wantGSO: 185000},
		{name: "state without cidrs", conf: `{` + base + `,"ipam":{"type":"host-local"}}`,
			node: &state.NodeState{MTU: 1500}, uplink: noUplink, wantCode: types.ErrTryAgainLater},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.conf))
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Derive(tc.node, tc.uplink)
			if tc.wantCode != 0 {
				var ce *types.Error
				if !errors.As(err, &ce) || ce.Code != tc.wantCode {
					t.Fatalf("want code %d, got %v", tc.wantCode, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.MTU != tc.wantMTU || d.GSOMaxSize != tc.wantGSO || d.GROMaxSize != tc.wantGRO {
				t.Errorf("got mtu %d gso %d gro %d", d.MTU, d.GSOMaxSize, d.GROMaxSize)
			}
			if tc.ranges == nil {
				if string(d.IPAMConf) != tc.conf {
					t.Errorf("IPAM config changed: %s", d.IPAMConf)
				}
				return
			}
			var out struct {
				Name string `json:"name"`
				IPAM struct {
					Type    string                `json:"type"`
					DataDir string                `json:"dataDir"`
					Ranges  [][]map[string]string `json:"ranges"`
				} `json:"ipam"`
			}
			if err := json.Unmarshal(d.IPAMConf, &out); err != nil {
				t.Fatal(err)
			}
			if out.Name != "pods" || out.IPAM.Type != "host-local" || out.IPAM.DataDir != "/d" || len(out.IPAM.Ranges) != len(tc.ranges) {
				t.Fatalf("ipam conf %s", d.IPAMConf)
			}
			for i, want := range tc.ranges {
				if len(out.IPAM.Ranges[i]) != 1 || out.IPAM.Ranges[i][0]["subnet"] != want {
					t.Errorf("range set %d: %v, want %s", i, out.IPAM.Ranges[i], want)
				}
			}
		})
	}
}

func TestIPAMConfigForRelease(t *testing.T) {
	c, err := Parse([]byte(`{` + base + `,"ipam":{"type":"host-local"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.IPAMConfigForRelease(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), releaseOnlyCIDR) {
		t.Errorf("placeholder range missing: %s", b)
	}
}
