// Command testimg is the cluster e2e's only container image besides the
// project's own: a static Go binary that is the pause container (when run as
// /pause) and a network test tool (servers, probes, a long-lived connection).
// The e2e packs it into docker-archive tarballs by hand (no registry).
//
//	testimg serve              HTTP :8080 (answers "<node> <client ip>"), TCP echo :9000, UDP echo :9001
//	testimg probe TARGET...    icmp:IP tcp:IP:PORT udp:IP:PORT dial:IP:PORT http://URL ; one line each
//	testimg hold IP:PORT       one TCP connection, a line echoed every 100 ms, status on :8081
//	testimg get URL            print the body
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func main() {
	if filepath.Base(os.Args[0]) == "pause" {
		pause()
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testimg serve|probe|hold|get ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve()
	case "probe":
		if !probe(os.Args[2:]) {
			os.Exit(1)
		}
	case "hold":
		err = hold(os.Args[2])
	case "get":
		var b string
		b, err = get(os.Args[2])
		fmt.Print(b)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// pause sleeps until SIGTERM/SIGINT and reaps children.
func pause() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			if pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
	}
}

func serve() error {
	node := os.Getenv("NODE_NAME")
	go func() {
		l, err := net.Listen("tcp", ":9000")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				continue
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	go func() {
		pc, err := net.ListenPacket("udp", ":9001")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err == nil {
				pc.WriteTo(buf[:n], addr)
			}
		}
	}()
	fmt.Printf("serving on %s\n", node)
	return http.ListenAndServe(":8080", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "%s %s\n", node, host)
	}))
}

func probe(targets []string) bool {
	all := true
	for _, t := range targets {
		res, err := probeOne(t)
		if err != nil {
			all = false
			fmt.Printf("FAIL %s %v\n", t, err)
			continue
		}
		fmt.Printf("OK %s %s\n", t, strings.TrimSpace(res))
	}
	return all
}

func probeOne(t string) (string, error) {
	kind, addr, _ := strings.Cut(t, ":")
	switch kind {
	case "icmp":
		return "", ping(addr)
	case "tcp", "udp":
		return echo(kind, addr)
	case "http":
		return get(t)
	case "dial":
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return "", err
		}
		c.Close()
		return "connected", nil
	}
	return "", fmt.Errorf("unknown probe %q", kind)
}

func echo(network, addr string) (string, error) {
	var last error
	for try := 0; try < 3; try++ {
		c, err := net.DialTimeout(network, addr, 2*time.Second)
		if err != nil {
			last = err
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		msg := fmt.Sprintf("hello-%d\n", time.Now().UnixNano())
		_, err = c.Write([]byte(msg))
		buf := make([]byte, 64)
		n := 0
		if err == nil {
			n, err = io.ReadAtLeast(c, buf, len(msg))
		}
		c.Close()
		if err == nil && string(buf[:n]) == msg {
			return "echoed", nil
		}
		last = fmt.Errorf("echo: %v (got %q)", err, buf[:n])
	}
	return "", last
}

func ping(ip string) error {
	dst := net.ParseIP(ip)
	if dst == nil {
		return fmt.Errorf("bad IP %q", ip)
	}
	network, typ, reply, proto := "ip4:icmp", icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply), 1
	if dst.To4() == nil {
		network, typ, reply, proto = "ip6:ipv6-icmp", ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	c, err := icmp.ListenPacket(network, "")
	if err != nil {
		return err
	}
	defer c.Close()
	id := os.Getpid() & 0xffff
	for seq := 1; seq <= 3; seq++ {
		m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("testimg")}}
		b, _ := m.Marshal(nil)
		if _, err := c.WriteTo(b, &net.IPAddr{IP: dst}); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		for {
			buf := make([]byte, 1500)
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			rm, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || rm.Type != reply || from.String() != dst.String() {
				continue
			}
			if e, ok := rm.Body.(*icmp.Echo); ok && e.ID == id {
				return nil
			}
		}
	}
	return fmt.Errorf("no echo reply from %s", ip)
}

func get(url string) (string, error) {
	// a fresh connection per request: a Service must balance each one
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last error
	for try := 0; try < 3; try++ {
		resp, err := c.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b), err
	}
	return "", last
}

// hold keeps one TCP connection to an echo server, exchanges a line every
// 100 ms and reports on :8081 "ok <exchanges> broken <0|1> <last error>". It
// never reconnects: a broken connection stays broken.
func hold(addr string) error {
	var ok, broken atomic.Int64
	var lastErr atomic.Value
	lastErr.Store("")
	go http.ListenAndServe(":8081", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "ok %d broken %d %s\n", ok.Load(), broken.Load(), lastErr.Load())
	}))
	var c net.Conn
	var err error
	for i := 0; i < 100; i++ { // the server may start after us
		if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		broken.Store(1)
		lastErr.Store(err.Error())
		select {}
	}
	r := bufio.NewReader(c)
	for i := 0; ; i++ {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		msg := fmt.Sprintf("line-%d\n", i)
		if _, err := c.Write([]byte(msg)); err != nil {
			broken.Store(1)
			lastErr.Store(err.Error())
			select {}
		}
		got, err := r.ReadString('\n')
		if err != nil || got != msg {
			broken.Store(1)
			lastErr.Store(fmt.Sprintf("%v %q", err, got))
			select {}
		}
		ok.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
}
