package perf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Options of one iperf3 run.
type Options struct {
	// Duration of the test (default 3 s).
	Duration time.Duration
	// CPU pins client and server (default 1, or $OO_BENCH_CPU).
	CPU int
	// Port of the server (default 5201).
	Port int
	// Reverse makes the server send (iperf3 -R).
	Reverse bool
}

func (o Options) withDefaults() Options {
	if o.Duration == 0 {
		o.Duration = 3 * time.Second
	}
	if o.CPU == 0 {
		o.CPU = 1
		if v, err := strconv.Atoi(os.Getenv("OO_BENCH_CPU")); err == nil {
			o.CPU = v
		}
	}
	if o.Port == 0 {
		o.Port = 5201
	}
	return o
}

// Result of one iperf3 run, read from its JSON output.
type Result struct {
	Gbps float64 `json:"gbps"`
	// HostCPU and RemoteCPU are iperf3's total CPU utilisation (percent of
	// one CPU) of the client and the server.
	HostCPU     float64 `json:"hostCPU"`
	RemoteCPU   float64 `json:"remoteCPU"`
	Retransmits int     `json:"retransmits"`
	Bytes       int64   `json:"bytes"`
}

// CPUPerGbps is the CPU both ends spent per Gbit/s delivered (percent of one
// CPU per Gbit/s): comparable across paths because both ends share one CPU.
func (r Result) CPUPerGbps() float64 {
	if r.Gbps == 0 {
		return 0
	}
	return (r.HostCPU + r.RemoteCPU) / r.Gbps
}

// Iperf runs one single-stream TCP test from clientNS to server (an address
// in serverNS): it starts a one-shot server, waits until it listens, runs
// the pinned client and parses the JSON. Equivalent to:
// `ip netns exec $serverNS iperf3 -s -1 -p $port` and
// `ip netns exec $clientNS iperf3 -c $server -p $port -t $d -A $cpu,$cpu -C cubic -J`.
func Iperf(ctx context.Context, clientNS, serverNS, server string, o Options) (Result, error) {
	o = o.withDefaults()
	srv, err := startServer(ctx, serverNS, o.Port)
	if err != nil {
		return Result{}, err
	}
	defer srv.stop()
	args := []string{"netns", "exec", clientNS, "iperf3", "-c", server, "-p", strconv.Itoa(o.Port),
		"-t", strconv.FormatFloat(o.Duration.Seconds(), 'f', -1, 64), "-A", fmt.Sprintf("%d,%d", o.CPU, o.CPU),
		"-C", "cubic", "-J", "--connect-timeout", "3000"}
	if o.Reverse {
		args = append(args, "-R")
	}
	cctx, cancel := context.WithTimeout(ctx, o.Duration+20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "ip", args...).Output()
	res, perr := parseIperf(out)
	if perr != nil {
		return res, fmt.Errorf("iperf3 %s -> %s (%s): %w", clientNS, server, serverNS, errors.Join(perr, err))
	}
	return res, nil
}

// iperfJSON is the part of iperf3 -J output we read.
type iperfJSON struct {
	Error string `json:"error"`
	End   struct {
		SumSent struct {
			Bytes       int64   `json:"bytes"`
			BitsPerSec  float64 `json:"bits_per_second"`
			Retransmits int     `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Bytes      int64   `json:"bytes"`
			BitsPerSec float64 `json:"bits_per_second"`
		} `json:"sum_received"`
		CPU struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	} `json:"end"`
}

// errIperf is returned when iperf3 itself reports an error.
var errIperf = errors.New("iperf3 failed")

func parseIperf(out []byte) (Result, error) {
	var j iperfJSON
	if err := json.Unmarshal(out, &j); err != nil {
		return Result{}, fmt.Errorf("parsing iperf3 JSON (%q): %w", truncate(string(out), 200), err)
	}
	if j.Error != "" {
		return Result{}, fmt.Errorf("%w: %s", errIperf, j.Error)
	}
	e := j.End
	return Result{
		Gbps:    e.SumReceived.BitsPerSec / 1e9,
		HostCPU: e.CPU.HostTotal, RemoteCPU: e.CPU.RemoteTotal,
		Retransmits: e.SumSent.Retransmits, Bytes: e.SumReceived.Bytes,
	}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

type server struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startServer starts `iperf3 -s -1` in a namespace and waits for its
// "Server listening" line.
func startServer(ctx context.Context, netnsName string, port int) (*server, error) {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", netnsName, "iperf3", "-s", "-1", "-p", strconv.Itoa(port), "--forceflush")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("iperf3 server pipe: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting iperf3 server in %s: %w", netnsName, err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "listening") {
				close(ready)
				signalled = true
			}
		}
		if !signalled {
			close(ready)
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		s.stop()
		return nil, fmt.Errorf("iperf3 server in %s did not listen on %d within 5s", netnsName, port)
	}
	select {
	case <-s.done:
		return nil, fmt.Errorf("iperf3 server in %s exited at start (port %d busy?)", netnsName, port)
	default:
	}
	return s, nil
}

func (s *server) stop() {
	select {
	case <-s.done:
		return
	case <-time.After(2 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
