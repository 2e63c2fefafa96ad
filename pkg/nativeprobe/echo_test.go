package nativeprobe

import (
	"bytes"
	"testing"

	"golang.org/x/net/icmp"
)

// TestAnswers: only the identifier, sequence and payload of the request
// just sent make a reply count.
func TestAnswers(t *testing.T) {
	reqs, err := newRequests()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := newRequests()
	if bytes.Equal(reqs[0].payload, again[0].payload) {
		t.Fatal("two probes share a nonce")
	}
	r := reqs[1]
	for _, tc := range []struct {
		name string
		e    icmp.Echo
		want bool
	}{
		{"own reply", icmp.Echo{ID: r.id, Seq: r.seq, Data: r.payload}, true},
		{"old fixed payload", icmp.Echo{ID: r.id, Seq: r.seq, Data: []byte("offload-overlay probe")}, false},
		{"previous sequence", icmp.Echo{ID: r.id, Seq: reqs[0].seq, Data: reqs[0].payload}, false},
		{"other identifier", icmp.Echo{ID: r.id ^ 1, Seq: r.seq, Data: r.payload}, false},
		{"another probe's nonce", icmp.Echo{ID: r.id, Seq: r.seq, Data: again[1].payload}, false},
		{"truncated", icmp.Echo{ID: r.id, Seq: r.seq, Data: r.payload[:len(r.payload)-1]}, false},
	} {
		if got := r.answers(&tc.e); got != tc.want {
			t.Errorf("%s: answers = %v, want %v", tc.name, got, tc.want)
		}
	}
}
