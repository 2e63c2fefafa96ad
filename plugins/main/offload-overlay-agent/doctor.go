package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
)

// runDoctor prints the offload analysis of this node. It reads the local
// kernel and, when the agent has written one, its peers file in the state
// directory (the peer's published facts and both ends' probe results): no
// Kubernetes API, and it works without a running agent. Flags default to the
// agent's environment variables so that `kubectl exec ... doctor` inside the
// agent's pod uses the agent's own configuration and state directory.
func runDoctor(args []string) int { return doctorMain(args, os.Stdout, os.Stderr, os.Getenv) }

// doctorMain is runDoctor with its streams and environment passed in.
func doctorMain(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, format, err := parseDoctorFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "offload-overlay-agent doctor: %v\n", err)
		return 2
	}
	report, err := doctor.Build(opts)
	if err != nil {
		fmt.Fprintf(stderr, "offload-overlay-agent doctor: %v\n", err)
		return 1
	}
	if err := writeReport(stdout, report, format); err != nil {
		fmt.Fprintf(stderr, "offload-overlay-agent doctor: %v\n", err)
		return 1
	}
	return 0
}

func writeReport(w io.Writer, r *doctor.Report, format string) error {
	if format == "json" {
		b, err := r.JSON()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return r.WriteText(w)
}

// parseDoctorFlags reads the doctor flags; getenv supplies the agent's
// environment defaults (OFFLOAD_OVERLAY_MODE, ...). The decision, --iface
// and --state-dir flags are the agent's own (config.AddDecisionFlags).
func parseDoctorFlags(args []string, getenv func(string) string, out io.Writer) (doctor.Options, string, error) {
	env := config.Env(getenv)
	var o doctor.Options
	var peer, podCIDR, format string
	fs := flag.NewFlagSet("offload-overlay-agent doctor", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&peer, "peer", "", "peer node IP (default: an off-link peer of the same kind, via the default route)")
	fs.StringVar(&podCIDR, "peer-pod-cidr", "", "the peer's pod CIDR, to check whether a tunnel underlay routes it")
	fs.StringVar(&format, "o", "text", "output: text|json")
	fs.StringVar(&format, "output", "text", "output: text|json")
	config.AddIfaceFlag(fs, env, &o.Iface, "uplink to inspect instead of the route's device")
	config.AddStateDirFlag(fs, env, &o.StateDir, "the agent's state directory: its peers file gives each peer's published facts and probe results (\"\": this node's kernel only)")
	fs.StringVar(&o.Node, "node", getenv("NODE_NAME"), "node name shown in the report ($NODE_NAME, else the host name)")
	dec := config.AddDecisionFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if format != "text" && format != "json" {
		return o, "", fmt.Errorf("-o %q: want text or json", format)
	}
	if peer != "" {
		if o.Peer = net.ParseIP(peer); o.Peer == nil {
			return o, "", fmt.Errorf("--peer %q: not an IP address", peer)
		}
	}
	if podCIDR != "" {
		_, n, err := net.ParseCIDR(podCIDR)
		if err != nil {
			return o, "", fmt.Errorf("--peer-pod-cidr %q: %w", podCIDR, err)
		}
		o.PeerPodCIDR = n
	}
	cfg, err := dec.Config()
	if err != nil {
		return o, "", err
	}
	o.Config = cfg
	return o, format, nil
}
