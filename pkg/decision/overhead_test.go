package decision

import "testing"

func TestOverheads(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		v6   bool
		want int
	}{
		{ModeVXLAN, false, 50}, {ModeVXLAN, true, 70},
		{ModeGeneve, false, 50}, {ModeGeneve, true, 70},
		{ModeNative, false, 0}, {ModeNative, true, 0}, {ModeUnreachable, false, 0},
	} {
		if got := Overhead(c.mode, c.v6); got != c.want {
			t.Errorf("Overhead(%s, ipv6=%v) = %d, want %d", c.mode, c.v6, got, c.want)
		}
	}
}
