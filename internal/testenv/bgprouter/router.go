package bgprouter

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Neighbor is one node as the router sees it.
type Neighbor struct {
	Name     string // BIRD protocol name: letters, digits, '_'
	Address  netip.Addr
	AS       uint32
	Password string // TCP MD5; "" = none
}

// Config describes the router.
type Config struct {
	Netns     string // `ip netns` name the router runs in
	Dir       string // for bird.conf, the control socket and the log
	AS        uint32 // the fabric's AS
	RouterID  netip.Addr
	Neighbors []Neighbor
	// HoldTime is proposed to the nodes (0: BIRD's 240 s).
	HoldTime time.Duration
	// Originate are prefixes the router announces to every node as its
	// own (static blackhole routes), as a fabric announcing its networks:
	// what a node with --bgp-import learns besides the other nodes' routes.
	Originate []netip.Prefix
}

// Router is a running BIRD.
type Router struct {
	cfg    Config
	cmd    *exec.Cmd
	socket string
	logf   string
	exited chan struct{}
}

// Available reports why BIRD cannot run here ("" when it can).
func Available() string {
	for _, b := range []string{"bird", "birdc", "ip"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Sprintf("%s not installed (apt-get install bird2 iproute2; make deps)", b)
		}
	}
	return ""
}

// Start writes the config and runs BIRD in cfg.Netns until Stop.
func Start(ctx context.Context, cfg Config) (*Router, error) {
	if why := Available(); why != "" {
		return nil, errors.New(why)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bird dir: %w", err)
	}
	r := &Router{cfg: cfg, socket: filepath.Join(cfg.Dir, "bird.ctl"), logf: filepath.Join(cfg.Dir, "bird.log"), exited: make(chan struct{})}
	conf := filepath.Join(cfg.Dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(Conf(cfg, r.logf)), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", conf, err)
	}
	if out, err := exec.CommandContext(ctx, "bird", "-p", "-c", conf).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bird rejects %s: %v: %s", conf, err, out)
	}
	r.cmd = exec.Command("ip", "netns", "exec", cfg.Netns, "bird", "-f", "-c", conf, "-s", r.socket, "-P", filepath.Join(cfg.Dir, "bird.pid"))
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting bird in %s: %w", cfg.Netns, err)
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	for {
		if _, err := r.Birdc(ctx, "show", "status"); err == nil {
			return r, nil
		}
		select {
		case <-r.exited:
			return nil, fmt.Errorf("bird exited at start; log: %s", r.Log())
		case <-ctx.Done():
			r.Stop()
			return nil, fmt.Errorf("bird control socket %s: %w", r.socket, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Conf is BIRD's configuration for cfg: device scan, kernel export for both
// families (routes really used), and one eBGP/iBGP neighbour per node from a
// template that imports everything and re-exports it, as a top-of-rack does.
// "graceful restart on" makes it a helper: it keeps a restarting node's
// routes for the restart time that node advertised.
func Conf(cfg Config, logFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "log %q all;\nrouter id %s;\n", logFile, cfg.RouterID)
	b.WriteString("protocol device { scan time 1; }\n")
	for _, fam := range []string{"ipv4", "ipv6"} {
		fmt.Fprintf(&b, "protocol kernel kernel_%s { scan time 2; %s { import none; export all; }; }\n", fam, fam)
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		var routes []string
		for _, p := range cfg.Originate {
			if p.Addr().Is4() == (fam == "ipv4") {
				routes = append(routes, fmt.Sprintf("route %s blackhole;", p.Masked()))
			}
		}
		if len(routes) > 0 {
			fmt.Fprintf(&b, "protocol static originate_%s { %s; %s }\n", fam, fam, strings.Join(routes, " "))
		}
	}
	fmt.Fprintf(&b, "template bgp node {\n  local as %d;\n  graceful restart on;\n  connect retry time 2;\n", cfg.AS)
	if cfg.HoldTime > 0 {
		fmt.Fprintf(&b, "  hold time %d;\n  keepalive time %d;\n", int(cfg.HoldTime.Seconds()), max(1, int(cfg.HoldTime.Seconds())/3))
	}
	b.WriteString("  ipv4 { import all; export all; };\n  ipv6 { import all; export all; };\n}\n")
	for _, n := range cfg.Neighbors {
		fmt.Fprintf(&b, "protocol bgp %s from node {\n  neighbor %s as %d;\n", n.Name, n.Address, n.AS)
		if n.Password != "" {
			fmt.Fprintf(&b, "  password %q;\n", n.Password)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// Birdc runs one birdc command against this router.
// Equivalent to: `birdc -s SOCKET show route`.
func (r *Router) Birdc(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "birdc", append([]string{"-s", r.socket}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("birdc %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Disable administratively shuts one neighbour's session (the router
// withdraws its routes); Enable brings it back.
func (r *Router) Disable(ctx context.Context, name string) error {
	_, err := r.Birdc(ctx, "disable", name)
	return err
}

// Enable re-enables a neighbour disabled before.
func (r *Router) Enable(ctx context.Context, name string) error {
	_, err := r.Birdc(ctx, "enable", name)
	return err
}

// Stop ends this BIRD (SIGTERM, then SIGKILL) and waits for it.
func (r *Router) Stop() {
	if r == nil || r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
}

// Log is BIRD's log so far (for test failures).
func (r *Router) Log() string {
	b, _ := os.ReadFile(r.logf)
	return string(b)
}
