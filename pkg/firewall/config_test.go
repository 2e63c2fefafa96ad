package firewall

import (
	"net/netip"
	"testing"
)

// TestSpans: prefixes of one family become sorted, merged half-open
// ranges (an interval set rejects overlaps); the other family is ignored.
func TestSpans(t *testing.T) {
	pp := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    family
		in   []netip.Prefix
		want []string // from-to pairs, "" for the end of the space
	}{
		{"cluster contains nodes", families[0], pp("10.244.1.0/24", "10.244.0.0/16", "fd00::/64"), []string{"10.244.0.0", "10.245.0.0"}},
		{"adjacent merge", families[0], pp("10.0.0.128/25", "10.0.0.0/25"), []string{"10.0.0.0", "10.0.1.0"}},
		{"disjoint kept", families[0], pp("10.3.0.0/16", "10.1.0.0/16"), []string{"10.1.0.0", "10.2.0.0", "10.3.0.0", "10.4.0.0"}},
		{"to the end", families[0], pp("255.255.255.0/24", "0.0.0.0/0"), []string{"0.0.0.0", ""}},
		{"mapped ipv4", families[0], pp("::ffff:10.9.0.0/112"), []string{"10.9.0.0", "10.10.0.0"}},
		{"ipv6", families[1], pp("fd00:244:1::/64", "10.0.0.0/8"), []string{"fd00:244:1::", "fd00:244:1:1::"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range tc.f.spans(tc.in) {
				to := ""
				if s.to.IsValid() {
					to = s.to.String()
				}
				got = append(got, s.from.String(), to)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("spans = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("spans = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestAddrs: a family's addresses, unmapped, sorted, without duplicates.
func TestAddrs(t *testing.T) {
	in := []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("::ffff:10.0.0.1"),
		netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::1"), {}}
	got := families[0].addrs(in)
	if len(got) != 2 || got[0].String() != "10.0.0.1" || got[1].String() != "10.0.0.2" {
		t.Fatalf("addrs = %v", got)
	}
	if got := families[1].addrs(in); len(got) != 1 || got[0].String() != "fd00::1" {
		t.Fatalf("addrs v6 = %v", got)
	}
}
