package bgpconfig

import (
	"errors"
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func parseArgs(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := RegisterFlags(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		t.Fatalf("flag parse: %v", err)
	}
	return Parse(*r)
}

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		want    Config
		errFlag string
	}{
		{name: "off by default", want: Config{HoldTime: DefaultHoldTime, RestartTime: DefaultRestartTime}},
		{name: "top of rack", args: []string{"--bgp-as", "64512", "--bgp-peer", "10.0.1.254:65000", "--bgp-graceful-restart", "--bgp-hold-time", "9s"},
			want: Config{AS: 64512, Peers: []Peer{{netip.MustParseAddr("10.0.1.254"), 65000}}, HoldTime: 9 * time.Second, GracefulRestart: true, RestartTime: DefaultRestartTime}},
		{name: "env, ipv6 peer, asdot, seconds", env: map[string]string{"OFFLOAD_OVERLAY_BGP_AS": "1.10", "OFFLOAD_OVERLAY_BGP_PEER": "[fd00::fe]:65000, 10.0.0.1:4200000001",
			"OFFLOAD_OVERLAY_BGP_HOLD_TIME": "30", "OFFLOAD_OVERLAY_BGP_PASSWORD": "s3cret", "OFFLOAD_OVERLAY_BGP_IMPORT": "true"},
			want: Config{AS: 65546, Peers: []Peer{{netip.MustParseAddr("fd00::fe"), 65000}, {netip.MustParseAddr("10.0.0.1"), 4200000001}},
				Password: "s3cret", HoldTime: 30 * time.Second, Import: true, RestartTime: DefaultRestartTime}},
		{name: "flag replaces env peers", env: map[string]string{"OFFLOAD_OVERLAY_BGP_PEER": "10.0.0.1:1"}, args: []string{"--bgp-as=2", "--bgp-peer=10.0.0.2:3"},
			want: Config{AS: 2, Peers: []Peer{{netip.MustParseAddr("10.0.0.2"), 3}}, HoldTime: DefaultHoldTime, RestartTime: DefaultRestartTime}},
		{name: "bad as", args: []string{"--bgp-as", "x"}, errFlag: FlagAS},
		{name: "as trans", args: []string{"--bgp-as", "23456"}, errFlag: FlagAS},
		{name: "as too big", args: []string{"--bgp-as", "4294967296"}, errFlag: FlagAS},
		{name: "as without peer: peers from the Node", args: []string{"--bgp-as", "64512"}, want: Config{AS: 64512, HoldTime: DefaultHoldTime, RestartTime: DefaultRestartTime}},
		{name: "peer without as", args: []string{"--bgp-as", "1", "--bgp-peer", "10.0.0.1"}, errFlag: FlagPeer},
		{name: "peer as 0", args: []string{"--bgp-as", "1", "--bgp-peer", "10.0.0.1:0"}, errFlag: FlagPeer},
		{name: "peer multicast", args: []string{"--bgp-as", "1", "--bgp-peer", "224.0.0.1:2"}, errFlag: FlagPeer},
		{name: "peer twice", args: []string{"--bgp-as", "1", "--bgp-peer", "10.0.0.1:2,10.0.0.1:3"}, errFlag: FlagPeer},
		{name: "hold time too short", args: []string{"--bgp-hold-time", "2s"}, errFlag: FlagHoldTime},
		{name: "hold time fraction", args: []string{"--bgp-hold-time", "3.5s"}, errFlag: FlagHoldTime},
		{name: "password too long", args: []string{"--bgp-password", strings.Repeat("x", 81)}, errFlag: FlagPassword},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArgs(t, tc.env, tc.args...)
			if tc.errFlag != "" {
				var fe *FlagError
				if !errors.As(err, &fe) || fe.Flag != tc.errFlag {
					t.Fatalf("error %v, want one naming --%s", err, tc.errFlag)
				}
				if !strings.Contains(err.Error(), "--"+tc.errFlag) {
					t.Errorf("message %q does not name --%s", err, tc.errFlag)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want.String() {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	secret := strings.Repeat("k", 81)
	_, err := parseArgs(t, nil, "--bgp-password", secret)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error %v must exist and not contain the password", err)
	}
}

func TestWithNode(t *testing.T) {
	base := Config{AS: 64512, Peers: []Peer{{netip.MustParseAddr("10.0.1.254"), 65000}}, HoldTime: DefaultHoldTime}
	cases := []struct {
		name        string
		labels, ann map[string]string
		wantAS      uint32
		wantPeers   string
		errKey      string
	}{
		{name: "no overrides", wantAS: 64512, wantPeers: "10.0.1.254:65000"},
		{name: "rack label", labels: map[string]string{LabelAS: "64513", LabelPeers: "10.0.2.254-65001_10.0.2.253-65001"}, wantAS: 64513, wantPeers: "10.0.2.254:65001,10.0.2.253:65001"},
		{name: "annotation wins, ipv6", labels: map[string]string{LabelPeers: "10.0.2.254-65001"}, ann: map[string]string{LabelPeers: "[fd00:2::fe]:65001"}, wantAS: 64512, wantPeers: "[fd00:2::fe]:65001"},
		{name: "rack without bgp", labels: map[string]string{LabelAS: "0"}, wantAS: 0, wantPeers: "10.0.1.254:65000"},
		{name: "no peer anywhere", labels: map[string]string{LabelPeers: ""}, errKey: FlagPeer},
		{name: "bad label as", labels: map[string]string{LabelAS: "abc"}, errKey: LabelAS},
		{name: "bad label peers", labels: map[string]string{LabelPeers: "10.0.2.254"}, errKey: LabelPeers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := base.WithNode(tc.labels, tc.ann)
			if tc.errKey != "" {
				var fe *FlagError
				if !errors.As(err, &fe) || fe.Flag != tc.errKey || !strings.Contains(err.Error(), tc.errKey) {
					t.Fatalf("error %v, want one naming %s", err, tc.errKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.AS != tc.wantAS || peersString(got.Peers) != tc.wantPeers {
				t.Errorf("got AS %d peers %s, want %d %s", got.AS, peersString(got.Peers), tc.wantAS, tc.wantPeers)
			}
		})
	}
	if peersString(base.Peers) != "10.0.1.254:65000" {
		t.Errorf("WithNode changed its receiver: %s", peersString(base.Peers))
	}
}

func peersString(ps []Peer) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}
