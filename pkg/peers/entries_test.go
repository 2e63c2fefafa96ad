package peers

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
)

var testLinks = Links{VXLAN4: 10, VXLAN6: 11, Uplink4: 2, Uplink6: 2}

func peer(name string, mode decision.Mode, cidr, nodeIP string) Peer {
	return Peer{
		Name: name, Mode: mode,
		PodCIDRs:  []netip.Prefix{netip.MustParsePrefix(cidr)},
		Endpoints: []Endpoint{{NodeIP: netip.MustParseAddr(nodeIP), VTEPMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}},
	}
}

func TestPeerEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       Peer
		want    []string
		wantErr string
	}{
		{"vxlan v4", peer("a", decision.ModeVXLAN, "10.244.1.0/24", "192.0.2.1"), []string{
			"fdb 02:00:00:00:00:01 dst 192.0.2.1 dev 10",
			"neigh 10.244.1.0 lladdr 02:00:00:00:00:01 dev 10",
			"route 10.244.1.0/24 via 10.244.1.0 dev 10 onlink=true"}, ""},
		{"vxlan v6", peer("a", decision.ModeVXLAN, "fd00:1::/64", "2001:db8::1"), []string{
			"fdb 02:00:00:00:00:01 dst 2001:db8::1 dev 11",
			"neigh fd00:1:: lladdr 02:00:00:00:00:01 dev 11",
			"route fd00:1::/64 via fd00:1:: dev 11 onlink=true"}, ""},
		{"native", peer("a", decision.ModeNative, "10.244.1.0/24", "192.0.2.1"), []string{
			"route 10.244.1.0/24 via 192.0.2.1 dev 2 onlink=true"}, ""},
		{"unmasked cidr", peer("a", decision.ModeNative, "10.244.1.7/24", "192.0.2.1"), []string{
			"route 10.244.1.0/24 via 192.0.2.1 dev 2 onlink=true"}, ""},
		{"unreachable", peer("a", decision.ModeUnreachable, "10.244.1.0/24", "192.0.2.1"), nil, ""},
		{"family mismatch", peer("a", decision.ModeNative, "fd00:1::/64", "192.0.2.1"), nil, "no endpoint"},
		{"loopback node IP", peer("a", decision.ModeNative, "10.244.1.0/24", "127.0.0.1"), nil, "not a unicast"},
		{"geneve", peer("a", decision.ModeGeneve, "10.244.1.0/24", "192.0.2.1"), nil, "geneve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := peerEntries(tc.p, testLinks)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
