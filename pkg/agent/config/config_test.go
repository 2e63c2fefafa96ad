package config

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]string{"--node-name", "n1"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "n1" || c.VNI != 1 || c.VXLANPort != 4789 || c.Decision.Mode != decision.ModeAuto ||
		c.StateDir != "/run/offload-overlay" || c.MetricsAddr != "127.0.0.1:9153" || c.LogFormat != "text" ||
		c.ResyncPeriod != DefaultResync || c.Kubeconfig != "" || len(c.ClusterCIDRs) != 0 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestParseEnvFallbacksAndFlagsWin(t *testing.T) {
	env := envOf(map[string]string{
		"NODE_NAME":                    "from-env",
		"KUBECONFIG":                   "/etc/kube.conf",
		"OFFLOAD_OVERLAY_CLUSTER_CIDR": "10.244.0.0/16,fd00:10:244::/56",
		"OFFLOAD_OVERLAY_MODE":         "vxlan",
		"OFFLOAD_OVERLAY_ENCAP":        "geneve",
	})
	c, err := Parse(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "from-env" || c.Kubeconfig != "/etc/kube.conf" || c.Decision.Mode != decision.ModeVXLAN || c.Decision.Encap != decision.ModeGeneve || len(c.ClusterCIDRs) != 2 {
		t.Fatalf("env not used: %+v", c)
	}
	c, err = Parse([]string{"--node-name=flag", "--cluster-cidr", "10.0.0.0/8", "--mode", "native",
		"--underlay-routes-pod-cidrs", "--allow-nested-encap", "--metrics-addr=", "--node-ip", "192.168.1.5",
		"--log-format", "json", "--resync-period", "30s", "--encap", "geneve"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if c.NodeName != "flag" || len(c.ClusterCIDRs) != 1 || c.ClusterCIDRs[0] != want[0] || c.Decision.Mode != decision.ModeNative ||
		!c.Decision.UnderlayRoutesPodCIDRs || !c.Decision.AllowNestedEncap || c.Decision.Encap != decision.ModeGeneve || c.MetricsAddr != "" ||
		c.NodeIPs[0] != netip.MustParseAddr("192.168.1.5") || c.LogFormat != "json" || c.ResyncPeriod != 30*time.Second {
		t.Fatalf("flags did not win: %+v", c)
	}
}

func TestParseRepeatedClusterCIDR(t *testing.T) {
	c, err := Parse([]string{"--node-name=n", "--cluster-cidr", "10.244.0.0/16", "--cluster-cidr", "fd00::/48"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ClusterCIDRs) != 2 {
		t.Fatalf("got %v", c.ClusterCIDRs)
	}
}

func TestParseBadValuesNameTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		flag string
	}{
		{[]string{}, "node-name"},
		{[]string{"--mode", "ipip"}, "mode"},
		{[]string{"--encap", "gre"}, "encap"},
		{[]string{"--vni", "0"}, "vni"},
		{[]string{"--vni", "16777216"}, "vni"},
		{[]string{"--vni", "x"}, "vni"},
		{[]string{"--vxlan-port", "70000"}, "vxlan-port"},
		{[]string{"--vxlan-port", "-1"}, "vxlan-port"},
		{[]string{"--iface", "a/b"}, "iface"},
		{[]string{"--iface", "abcdefghijklmnopq"}, "iface"},
		{[]string{"--state-dir", "relative"}, "state-dir"},
		{[]string{"--metrics-addr", "9153"}, "metrics-addr"},
		{[]string{"--metrics-addr", "nohost:1"}, "metrics-addr"},
		{[]string{"--log-format", "xml"}, "log-format"},
		{[]string{"--log-level", "loud"}, "log-level"},
		{[]string{"--resync-period", "5"}, "resync-period"},
		{[]string{"--resync-period", "1ms"}, "resync-period"},
		{[]string{"--probe-period", "soon"}, "probe-period"},
		{[]string{"--cluster-cidr", "10.244.0.0"}, "cluster-cidr"},
		{[]string{"--cluster-cidr", "10.244.1.0/16"}, "cluster-cidr"},
		{[]string{"--cluster-cidr", "10.0.0.0/8,10.1.0.0/16"}, "cluster-cidr"},
		{[]string{"--node-ip", "300.1.1.1"}, "node-ip"},
		{[]string{"--node-ip", "224.0.0.1"}, "node-ip"},
		{[]string{"--node-ip", "10.0.0.1,10.0.0.2"}, "node-ip"},
		{[]string{"--bgp-as", "x"}, "bgp-as"},
		{[]string{"--bgp-as", "1", "--bgp-peer", "10.0.0.1"}, "bgp-peer"},
		{[]string{"--bgp-hold-time", "1s"}, "bgp-hold-time"},
		{[]string{"--bgp-password", strings.Repeat("p", 81)}, "bgp-password"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := tc.args
			if tc.flag != "node-name" {
				args = append([]string{"--node-name", "n"}, args...)
			}
			_, err := Parse(args, envOf(nil), io.Discard)
			var fe *FlagError
			if !errors.As(err, &fe) {
				t.Fatalf("want FlagError, got %v", err)
			}
			if fe.Flag != tc.flag || !strings.Contains(err.Error(), "--"+tc.flag) {
				t.Fatalf("error %q does not name --%s", err, tc.flag)
			}
		})
	}
}

func TestParseUnknownFlagAndArgs(t *testing.T) {
	if _, err := Parse([]string{"--node-name=n", "--bogus"}, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown flag: %v", err)
	}
	if _, err := Parse([]string{"--node-name=n", "extra"}, envOf(nil), io.Discard); err == nil {
		t.Fatal("extra argument accepted")
	}
	if _, err := Parse([]string{"-h"}, envOf(nil), io.Discard); !errors.Is(err, ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}
