package dplab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Ping sends ICMP echo requests from pod p to dst until one is answered
// (3 tries, 1 s each). The machine may have no ping binary, so this opens a
// raw ICMP socket inside the pod's namespace.
func (p *Pod) Ping(dst netip.Addr) error {
	network, laddr := "ip4:icmp", "0.0.0.0"
	var typ, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if dst.Is6() {
		network, laddr, typ, reply, proto = "ip6:ipv6-icmp", "::", ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	var conn *icmp.PacketConn
	err := p.NS.Do(func(ns.NetNS) error {
		var err error
		conn, err = icmp.ListenPacket(network, laddr)
		return err
	})
	if err != nil {
		return fmt.Errorf("icmp socket in %s: %w", p.Name, err)
	}
	defer conn.Close()
	id := os.Getpid() & 0xffff
	for seq := 1; seq <= 3; seq++ {
		msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("oo-dp")}}
		b, _ := msg.Marshal(nil)
		if _, err := conn.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("ping %s from %s: %w", dst, p.Name, err)
		}
		deadline := time.Now().Add(time.Second)
		_ = conn.SetReadDeadline(deadline)
		buf := make([]byte, 1500)
		for time.Now().Before(deadline) {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				break
			}
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != reply {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq &&
				from.(*net.IPAddr).IP.Equal(dst.AsSlice()) {
				return nil
			}
		}
	}
	return fmt.Errorf("ping %s from %s: no reply", dst, p.Name)
}

// Listen opens a TCP listener on port inside the pod.
func (p *Pod) Listen(port int) (net.Listener, error) {
	var l net.Listener
	err := p.NS.Do(func(ns.NetNS) error {
		var err error
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	})
	return l, err
}

// Dial opens a TCP connection from the pod to dst:port.
func (p *Pod) Dial(dst netip.Addr, port int) (net.Conn, error) {
	var c net.Conn
	err := p.NS.Do(func(ns.NetNS) error {
		var err error
		c, err = net.DialTimeout("tcp", netip.AddrPortFrom(dst, uint16(port)).String(), 3*time.Second)
		return err
	})
	return c, err
}

// TCPEcho checks a TCP round trip of n bytes from pod p to pod q over the
// address family of dst (one of q's addresses).
func (p *Pod) TCPEcho(q *Pod, dst netip.Addr, n int) error {
	l, err := q.Listen(0)
	if err != nil {
		return err
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	c, err := p.Dial(dst, l.Addr().(*net.TCPAddr).Port)
	if err != nil {
		return fmt.Errorf("tcp %s -> %s: %w", p.Name, dst, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i)
	}
	go func() { _, _ = c.Write(want) }()
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("tcp %s -> %s: echo: %w", p.Name, dst, err)
	}
	for i := range got {
		if got[i] != want[i] {
			return errors.New("tcp echo corrupted")
		}
	}
	return nil
}
