// Package nativeprobe sends the agent's native-path probe: ICMP echo
// requests from this node's probe address to a peer's, and accepts only
// the reply to the request it sent.
//
// Why a nonce: a raw ICMP socket receives every echo reply that reaches
// the host, and the identifier is 16 bits. A pod or a stranger that wants
// a pair of nodes to route natively through a path that does not carry
// pod traffic (black-holing it) only has to send echo replies from the
// peer's probe address with each identifier. Each request therefore
// carries 16 random bytes and its sequence number, and a reply counts
// only when its identifier, its sequence number (that of the request
// just sent) and its payload all match: a blind spoofer would have to
// guess 128 bits. An attacker on the path between the two probe
// addresses sees the nonce, but it could also just forward the packets.
package nativeprobe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ErrNoReply says no valid reply came back.
var ErrNoReply = errors.New("native path does not answer")

// Attempts and per-attempt wait of Echo.
const (
	Attempts = 3
	Wait     = time.Second
)

// magic starts every probe payload (readable in a packet capture).
const magic = "offload-overlay probe "

// request is one echo request: identifier, sequence and payload.
type request struct {
	id, seq int
	payload []byte
}

// newRequests returns Attempts requests with a random identifier and one
// random nonce, each payload magic + nonce + sequence.
func newRequests() ([]request, error) {
	var r [2 + 16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("reading randomness for the probe nonce: %w", err)
	}
	id := int(binary.BigEndian.Uint16(r[:2]))
	out := make([]request, 0, Attempts)
	for seq := 1; seq <= Attempts; seq++ {
		p := append([]byte(magic), r[2:]...)
		p = binary.BigEndian.AppendUint16(p, uint16(seq))
		out = append(out, request{id: id, seq: seq, payload: p})
	}
	return out, nil
}

// answers says whether body (a parsed echo reply) answers req.
func (req request) answers(e *icmp.Echo) bool {
	return e.ID == req.id && e.Seq == req.seq && bytes.Equal(e.Data, req.payload)
}

// Echo sends up to Attempts echo requests from src to dst and returns nil
// at the first reply that answers the request just sent; ErrNoReply
// (wrapped) when none did. The caller must have CAP_NET_RAW and run in the
// network namespace of src.
// Equivalent to: ping -c 3 -W 1 -I $src -p $nonce $dst
func Echo(ctx context.Context, src, dst netip.Addr) error {
	network, proto := "ip4:icmp", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, proto = "ip6:ipv6-icmp", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	reqs, err := newRequests()
	if err != nil {
		return err
	}
	c, err := icmp.ListenPacket(network, src.String())
	if err != nil {
		return fmt.Errorf("opening ICMP socket on %s: %w", src, err)
	}
	defer c.Close()
	for _, req := range reqs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("probing %s: %w", dst, err)
		}
		msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: req.id, Seq: req.seq, Data: req.payload}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return fmt.Errorf("encoding echo: %w", err)
		}
		if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("sending echo to %s: %w", dst, err)
		}
		if waitReply(ctx, c, proto, replyType, dst, req) {
			return nil
		}
	}
	return fmt.Errorf("no echo reply from %s: %w", dst, ErrNoReply)
}

// waitReply reads until a reply from dst answering req arrives or Wait
// (or ctx) runs out; anything else is ignored.
func waitReply(ctx context.Context, c *icmp.PacketConn, proto int, want icmp.Type, dst netip.Addr, req request) bool {
	deadline := time.Now().Add(Wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		ipa, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		if a, ok := netip.AddrFromSlice(ipa.IP); !ok || a.Unmap() != dst {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != want {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && req.answers(e) {
			return true
		}
	}
}
