package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
)

// The speaker under test runs in a child process started in a node's
// network namespace (`ip netns exec`), because gobgp dials from goroutines
// on any OS thread: only a whole process can be put in a namespace. The
// child is this test binary with envChild set; it reads commands on stdin
// and answers each with one JSON line. Killing it is exactly an agent
// exiting: its TCP connections close without a NOTIFICATION.
const envChild = "OO_BGP_TEST_SPEAKER"

type childSpec struct {
	Config   bgpconfig.Config
	NodeIPs  []netip.Addr
	Announce bgptypes.Announcement
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(envChild); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

func runChild(specJSON string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	m := NewManager(log, nil)
	var learntEvents atomic.Int64
	m.OnLearnt(func() { learntEvents.Add(1) })
	if err := m.Ensure(ctx, spec.Config, spec.NodeIPs, spec.Announce.PodCIDRs); err != nil {
		fmt.Fprintln(os.Stderr, "ensure:", err)
		return 1
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(m.Speaker))
	enc := json.NewEncoder(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		var reply any
		var err error
		switch cmd {
		case "sessions":
			var st Status
			st, err = m.Status(ctx)
			reply = st.Sessions
		case "status":
			reply, err = m.Status(ctx)
		case "learnt":
			reply, err = m.Learnt(ctx)
		case "learnt-events": // OnLearnt calls so far
			reply = learntEvents.Load()
		case "metrics":
			reply, err = gatherText(reg)
		case "announce": // new pod CIDRs, same node
			var a bgptypes.Announcement
			if err = json.Unmarshal([]byte(arg), &a); err == nil {
				err = m.Ensure(ctx, spec.Config, spec.NodeIPs, a.PodCIDRs)
			}
			reply = "ok"
		case "close": // BGP turned off
			err = m.Ensure(ctx, bgpconfig.Config{}, spec.NodeIPs, nil)
			reply = "ok"
		default:
			err = fmt.Errorf("unknown command %q", cmd)
		}
		if err != nil {
			reply = map[string]string{"error": err.Error()}
		}
		enc.Encode(reply)
	}
	// stdin closed: the agent exits (abandoned with graceful restart,
	// closed without).
	if err := m.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
		return 1
	}
	return 0 // stdin closed: exit without saying goodbye (Abandon)
}

// speakerProc is a running child speaker.
type speakerProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	dead  chan struct{}
	netns string
}

func startSpeaker(t *testing.T, netns string, spec childSpec) *speakerProc {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", netns, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+string(b))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting speaker in %s: %v", netns, err)
	}
	p := &speakerProc{t: t, cmd: cmd, in: in, out: bufio.NewScanner(out), dead: make(chan struct{}), netns: netns}
	p.out.Buffer(make([]byte, 1<<20), 1<<20)
	go func() { cmd.Wait(); close(p.dead) }()
	t.Cleanup(p.kill)
	return p
}

// call sends one command and decodes the reply into v.
func (p *speakerProc) call(cmd string, v any) error {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return fmt.Errorf("speaker in %s: %w", p.netns, err)
	}
	if !p.out.Scan() {
		return fmt.Errorf("speaker in %s exited", p.netns)
	}
	line := p.out.Bytes()
	var e struct{ Error string }
	if json.Unmarshal(line, &e) == nil && e.Error != "" {
		return fmt.Errorf("speaker in %s: %s", p.netns, e.Error)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(line, v)
}

func (p *speakerProc) sessions() ([]bgptypes.Session, error) {
	var s []bgptypes.Session
	return s, p.call("sessions", &s)
}

// abandon is the agent exiting: stdin closes and the process ends without
// a NOTIFICATION to its peers.
func (p *speakerProc) abandon() {
	p.in.Close()
	select {
	case <-p.dead:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func (p *speakerProc) kill() {
	select {
	case <-p.dead:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.dead
}

// gatherText is the registry in the Prometheus text format.
func gatherText(reg *prometheus.Registry) (string, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
