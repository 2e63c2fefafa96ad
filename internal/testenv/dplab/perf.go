package dplab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Iperf runs one single-stream iperf3 TCP test from pod p to dst (an
// address of server pod q) for secs seconds, client and server pinned to
// CPU 1 and cubic congestion control (see /work/shared/kernel-lab.md), and
// returns the received throughput in Gbit/s.
func (p *Pod) Iperf(q *Pod, dst netip.Addr, secs, port int) (float64, error) {
	l := p.Node.Lab
	srv, err := l.Start(q.Name, "iperf3", "-s", "-1", "-A", "1", "-p", strconv.Itoa(port))
	if err != nil {
		return 0, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	var out string
	for try := 0; try < 20; try++ {
		time.Sleep(100 * time.Millisecond)
		out, err = Exec(p.Name, "iperf3", "-c", dst.String(), "-p", strconv.Itoa(port), "-t", strconv.Itoa(secs),
			"-A", "1,1", "-C", "cubic", "-J")
		if err == nil || !strings.Contains(out, "refused") {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("iperf3 %s -> %s: %w", p.Name, dst, err)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return 0, fmt.Errorf("parsing iperf3 output: %w", err)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9, nil
}

// Counters returns rx/tx packets and bytes of dev in namespace nsName.
func Counters(nsName, dev string) (rxPkts, rxBytes, txPkts, txBytes uint64, err error) {
	read := func(name string) uint64 {
		out, e := Exec(nsName, "cat", "/sys/class/net/"+dev+"/statistics/"+name)
		if e != nil {
			err = e
			return 0
		}
		v, _ := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
		return v
	}
	return read("rx_packets"), read("rx_bytes"), read("tx_packets"), read("tx_bytes"), err
}
