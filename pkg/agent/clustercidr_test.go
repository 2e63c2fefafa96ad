package agent

import (
	"net/netip"
	"strings"
	"testing"
)

// TestClusterCIDRPerFamily: every pod-CIDR family needs a cluster CIDR;
// the error names the flag, its variable and the missing family.
func TestClusterCIDRPerFamily(t *testing.T) {
	pp := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	if err := clusterCIDRPerFamily(pp("10.244.1.0/24", "fd00:10:244:1::/64"), pp("10.244.0.0/16", "fd00:10:244::/56")); err != nil {
		t.Errorf("dual-stack covered: %v", err)
	}
	if err := clusterCIDRPerFamily(pp("fd00:10:244:1::/64"), pp("fd00:10:244::/56")); err != nil {
		t.Errorf("IPv6-only covered: %v", err)
	}
	err := clusterCIDRPerFamily(pp("10.244.1.0/24", "fd00:10:244:1::/64"), pp("10.244.0.0/16"))
	if err == nil || !strings.Contains(err.Error(), "--cluster-cidr") || !strings.Contains(err.Error(), "OFFLOAD_OVERLAY_CLUSTER_CIDR") || !strings.Contains(err.Error(), "no IPv6 prefix") {
		t.Errorf("IPv6 without a cluster CIDR: %v", err)
	}
}
