package bgprouter

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BIRD itself accepts the configuration Conf writes (`bird -p` parses and
// exits), with neighbours, a password, a hold time and originated prefixes
// of both families.
func TestConfParses(t *testing.T) {
	if why := Available(); why != "" {
		t.Skip(why)
	}
	dir := t.TempDir()
	cfg := Config{AS: 65000, RouterID: netip.MustParseAddr("192.0.2.1"), HoldTime: 9e9,
		Neighbors: []Neighbor{{Name: "node_a", Address: netip.MustParseAddr("192.0.2.11"), AS: 64512, Password: "pw"}},
		Originate: []netip.Prefix{netip.MustParsePrefix("10.244.200.0/24"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("fd00:10:244:c8::/64")}}
	conf := Conf(cfg, filepath.Join(dir, "bird.log"))
	for _, want := range []string{"route 10.244.200.0/24 blackhole;", "route fd00:10:244:c8::/64 blackhole;", "protocol static originate_ipv6"} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q:\n%s", want, conf)
		}
	}
	p := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bird", "-p", "-c", p).CombinedOutput(); err != nil {
		t.Fatalf("bird -p: %v: %s\n%s", err, out, conf)
	}
}
