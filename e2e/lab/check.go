package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// TCPServer is a listener inside a namespace (IPv4 and IPv6): for every
// connection it records the peer address and writes Payload bytes.
type TCPServer struct {
	ln      net.Listener
	Payload int
	mu      sync.Mutex
	peers   []string
}

// ServeTCP listens on [::]:port inside the named namespace. The socket is
// created on a thread inside the namespace and keeps belonging to it.
func ServeTCP(netnsName string, port, payload int) (*TCPServer, error) {
	n, err := ns.GetNS(topo.NetnsPath(netnsName))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", netnsName, err)
	}
	defer n.Close()
	s := &TCPServer{Payload: payload}
	err = n.Do(func(ns.NetNS) error {
		var err error
		s.ln, err = net.Listen("tcp", "[::]:"+strconv.Itoa(port))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listening on %d in %s: %w", port, netnsName, err)
	}
	go s.serve()
	return s, nil
}

func (s *TCPServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		s.mu.Lock()
		s.peers = append(s.peers, host)
		s.mu.Unlock()
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, io.LimitReader(zeros{}, int64(s.Payload)))
		}()
	}
}

// Peers returns the source addresses seen so far.
func (s *TCPServer) Peers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.peers...)
}

// Close stops listening.
func (s *TCPServer) Close() error { return s.ln.Close() }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// DialTCP connects from inside the named namespace to addr:port and reads
// until EOF, expecting want bytes: a full-size transfer (want of a few MB)
// fails when a path's MTU is wrong and PMTU discovery cannot fix it.
func DialTCP(ctx context.Context, netnsName, addr string, port, want int, timeout time.Duration) error {
	n, err := ns.GetNS(topo.NetnsPath(netnsName))
	if err != nil {
		return fmt.Errorf("opening %s: %w", netnsName, err)
	}
	defer n.Close()
	var c net.Conn
	err = n.Do(func(ns.NetNS) error {
		d := net.Dialer{Timeout: timeout}
		var err error
		c, err = d.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		return err
	})
	if err != nil {
		return fmt.Errorf("tcp %s -> %s:%d: %w", netnsName, addr, port, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	got, err := io.Copy(io.Discard, c)
	if err != nil {
		return fmt.Errorf("tcp %s -> %s:%d after %d bytes: %w", netnsName, addr, port, got, err)
	}
	if int(got) != want {
		return fmt.Errorf("tcp %s -> %s:%d: %w: got %d bytes, want %d", netnsName, addr, port, errShort, got, want)
	}
	return nil
}

var errShort = errors.New("short transfer")

// Ping sends one ICMP echo from the named namespace; size > 0 sends that
// many payload bytes with DF set (no fragmentation). Equivalent to:
// `ip netns exec $ns ping -c1 -W2 [-M do -s $size] $addr`.
func Ping(netnsName, addr string, size int) error {
	args := []string{"ping", "-c1", "-W2"}
	if size > 0 {
		args = append(args, "-M", "do", "-s", strconv.Itoa(size))
	}
	out, err := topo.Exec(netnsName, append(args, addr)...)
	if err != nil && bytes.Contains([]byte(out), []byte("100% packet loss")) {
		return fmt.Errorf("ping %s -> %s (size %d): no reply", netnsName, addr, size)
	}
	return err
}

// PodMTU reads the MTU of the pod's eth0.
func PodMTU(p *Pod) (int, error) {
	h, err := topo.Handle(p.Netns)
	if err != nil {
		return 0, err
	}
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if err != nil {
		return 0, fmt.Errorf("%s eth0: %w", p.Netns, err)
	}
	return l.Attrs().MTU, nil
}
