package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// Defaults.
const (
	DefaultVNI       = 1
	DefaultVXLANPort = 4789
	// DefaultMetricsAddr is loopback: the agent runs in the host network
	// namespace, and /metrics (peer names, node IPs, modes) is for the node's
	// own scraper or a port-forward, not for every pod and host that can
	// reach the node. Set the node IP to scrape it from elsewhere.
	DefaultMetricsAddr = "127.0.0.1:9153"
	DefaultResync      = 5 * time.Minute
	DefaultProbePeriod = 2 * time.Minute
	// DefaultStartupWindow: the liveness probe's budget before a first
	// convergence (seconds normally; minutes only when something is stuck).
	DefaultStartupWindow = 5 * time.Minute
	DefaultLogFormat     = "text"
	maxVNI               = 1<<24 - 1
	minResync            = time.Second
	envNodeName          = "NODE_NAME"
	envKubeconfig        = "KUBECONFIG"
	envPrefix            = "OFFLOAD_OVERLAY_"
)

// Config is the validated agent configuration.
type Config struct {
	NodeName   string
	Kubeconfig string // empty: in-cluster
	// ClusterCIDRs are the cluster's pod networks, at most one per family;
	// traffic from local pods to anything outside them is masqueraded.
	ClusterCIDRs []netip.Prefix
	Decision     decision.Config
	VNI          int
	VXLANPort    int
	Iface        string // uplink override; empty: from the route table
	StateDir     string
	MetricsAddr  string // empty: no HTTP server
	// NodeIPs override the Node's InternalIP addresses (at most one per family).
	NodeIPs      []netip.Addr
	LogFormat    string // json or text
	LogLevel     slog.Level
	ResyncPeriod time.Duration
	ProbePeriod  time.Duration
	// BGP is the cluster-wide BGP configuration (--bgp-*); each Node's
	// labels may override it (bgpconfig.Config.WithNode).
	BGP bgpconfig.Config
	// VXLANFilter closes the VXLAN port to all but peer nodes and to this
	// node's pods (pkg/firewall).
	VXLANFilter bool
	// StartupWindow is how long /healthz passes before the first
	// convergence; past it a never-converged agent fails /healthz and the
	// kubelet restarts it.
	StartupWindow time.Duration
}

// FlagError names the flag whose value was rejected.
type FlagError struct {
	Flag  string
	Value string
	Err   error
}

func (e *FlagError) Error() string {
	return fmt.Sprintf("--%s: invalid value %q: %v", e.Flag, e.Value, e.Err)
}

func (e *FlagError) Unwrap() error { return e.Err }

// ErrHelp is returned when -h or --help was given.
var ErrHelp = flag.ErrHelp

// raw holds the flag strings before validation.
type raw struct {
	nodeName, kubeconfig, iface, stateDir, metricsAddr string
	logFormat, logLevel, vni, port, resync, probe      string
	vxlanFilter, startup                               string
	clusterCIDRs, nodeIPs                              listFlag
	decision                                           *DecisionFlags
	bgp                                                *bgpconfig.Raw
}

// listFlag is a repeatable, comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// Parse reads args (without the program and subcommand names) with getenv
// as the environment (os.Getenv in production). Usage goes to out.
func Parse(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	fs, r := newFlagSet(getenv, out)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return r.validate()
}

func newFlagSet(getenv func(string) string, out io.Writer) (*flag.FlagSet, *raw) {
	e := Env(getenv)
	env := e.Str
	r := &raw{}
	fs := flag.NewFlagSet("offload-overlay-agent run", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&r.nodeName, "node-name", env(envNodeName, ""), "this node's name ($NODE_NAME)")
	fs.StringVar(&r.kubeconfig, "kubeconfig", env(envKubeconfig, ""), "kubeconfig path ($KUBECONFIG); empty: in-cluster")
	r.decision = AddDecisionFlags(fs, e)
	fs.StringVar(&r.vni, "vni", env(envPrefix+"VNI", strconv.Itoa(DefaultVNI)), "VXLAN network identifier")
	fs.StringVar(&r.port, "vxlan-port", env(envPrefix+"VXLAN_PORT", strconv.Itoa(DefaultVXLANPort)), "VXLAN UDP port")
	AddIfaceFlag(fs, e, &r.iface, "uplink interface override")
	AddStateDirFlag(fs, e, &r.stateDir, "node state directory (read by the CNI plugin)")
	fs.StringVar(&r.metricsAddr, "metrics-addr", env(envPrefix+"METRICS_ADDR", DefaultMetricsAddr), "address for /metrics and /healthz; empty disables")
	fs.StringVar(&r.logFormat, "log-format", env(envPrefix+"LOG_FORMAT", DefaultLogFormat), "log format: json|text")
	fs.StringVar(&r.logLevel, "log-level", env(envPrefix+"LOG_LEVEL", "info"), "log level: debug|info|warn|error")
	fs.StringVar(&r.resync, "resync-period", env(envPrefix+"RESYNC_PERIOD", DefaultResync.String()), "full re-converge period")
	fs.StringVar(&r.probe, "probe-period", env(envPrefix+"PROBE_PERIOD", DefaultProbePeriod.String()), "native probe period")
	fs.StringVar(&r.vxlanFilter, "vxlan-filter", env(envPrefix+"VXLAN_FILTER", "true"), "drop VXLAN from non-peers and from local pods (nftables)")
	fs.StringVar(&r.startup, "startup-window", env(envPrefix+"STARTUP_WINDOW", DefaultStartupWindow.String()), "/healthz fails when not converged this long after start")
	r.clusterCIDRs.Set(getenv(envPrefix + "CLUSTER_CIDR"))
	r.nodeIPs.Set(getenv(envPrefix + "NODE_IP"))
	fs.Var(&resetList{l: &r.clusterCIDRs}, "cluster-cidr", "cluster pod CIDR, one per family (repeatable or comma-separated)")
	fs.Var(&resetList{l: &r.nodeIPs}, "node-ip", "node IP override, one per family (repeatable or comma-separated)")
	r.bgp = bgpconfig.RegisterFlags(fs, getenv)
	return fs, r
}

// resetList drops the environment default on the first explicit flag.
type resetList struct {
	l   *listFlag
	set bool
}

func (r *resetList) String() string {
	if r.l == nil {
		return ""
	}
	return r.l.String()
}

func (r *resetList) Set(v string) error {
	if !r.set {
		*r.l, r.set = nil, true
	}
	return r.l.Set(v)
}

func (r *raw) validate() (*Config, error) {
	c := &Config{
		NodeName:    strings.TrimSpace(r.nodeName),
		Kubeconfig:  r.kubeconfig,
		Iface:       r.iface,
		StateDir:    r.stateDir,
		MetricsAddr: r.metricsAddr,
		LogFormat:   r.logFormat,
	}
	checks := []func(*Config) error{
		r.checkNodeName, r.checkMode, r.checkVNI, r.checkPort, r.checkIface,
		r.checkStateDir, r.checkMetricsAddr, r.checkLog, r.checkDurations,
		r.checkClusterCIDRs, r.checkNodeIPs, r.checkBGP,
	}
	for _, check := range checks {
		if err := check(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (r *raw) checkNodeName(c *Config) error {
	if c.NodeName == "" {
		return &FlagError{"node-name", "", errors.New("required (or set $NODE_NAME)")}
	}
	return nil
}

func (r *raw) checkMode(c *Config) error {
	d, err := r.decision.Config()
	c.Decision = d
	return err
}

func (r *raw) checkVNI(c *Config) error {
	n, err := strconv.Atoi(r.vni)
	if err != nil {
		return &FlagError{"vni", r.vni, err}
	}
	if n < 1 || n > maxVNI {
		return &FlagError{"vni", r.vni, fmt.Errorf("out of range 1..%d", maxVNI)}
	}
	c.VNI = n
	return nil
}

func (r *raw) checkPort(c *Config) error {
	n, err := strconv.Atoi(r.port)
	if err != nil {
		return &FlagError{"vxlan-port", r.port, err}
	}
	if n < 1 || n > 65535 {
		return &FlagError{"vxlan-port", r.port, errors.New("out of range 1..65535")}
	}
	c.VXLANPort = n
	return nil
}

func (r *raw) checkIface(c *Config) error {
	if r.iface == "" {
		return nil
	}
	if len(r.iface) > 15 || strings.ContainsAny(r.iface, "/ \t\n:") || r.iface == "." || r.iface == ".." {
		return &FlagError{"iface", r.iface, errors.New("not a valid interface name")}
	}
	return nil
}

func (r *raw) checkStateDir(c *Config) error {
	if r.stateDir == "" || !strings.HasPrefix(r.stateDir, "/") {
		return &FlagError{"state-dir", r.stateDir, errors.New("must be an absolute path")}
	}
	return nil
}

func (r *raw) checkMetricsAddr(c *Config) error {
	if r.metricsAddr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(r.metricsAddr)
	if err != nil {
		return &FlagError{"metrics-addr", r.metricsAddr, err}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &FlagError{"metrics-addr", r.metricsAddr, errors.New("bad port")}
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			return &FlagError{"metrics-addr", r.metricsAddr, err}
		}
	}
	return nil
}

func (r *raw) checkLog(c *Config) error {
	if r.logFormat != "json" && r.logFormat != "text" {
		return &FlagError{"log-format", r.logFormat, errors.New("want json or text")}
	}
	if err := c.LogLevel.UnmarshalText([]byte(r.logLevel)); err != nil {
		return &FlagError{"log-level", r.logLevel, err}
	}
	return nil
}

func (r *raw) checkDurations(c *Config) error {
	var err error
	if c.ResyncPeriod, err = parsePeriod("resync-period", r.resync); err != nil {
		return err
	}
	if c.StartupWindow, err = parsePeriod("startup-window", r.startup); err != nil {
		return err
	}
	if c.VXLANFilter, err = strconv.ParseBool(r.vxlanFilter); err != nil {
		return &FlagError{"vxlan-filter", r.vxlanFilter, err}
	}
	c.ProbePeriod, err = parsePeriod("probe-period", r.probe)
	return err
}

func parsePeriod(flagName, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, &FlagError{flagName, v, err}
	}
	if d < minResync {
		return 0, &FlagError{flagName, v, fmt.Errorf("must be at least %s", minResync)}
	}
	return d, nil
}

func (r *raw) checkClusterCIDRs(c *Config) error {
	var seen [2]bool
	for _, s := range r.clusterCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return &FlagError{"cluster-cidr", s, err}
		}
		if p != p.Masked() {
			return &FlagError{"cluster-cidr", s, fmt.Errorf("host bits set (did you mean %s?)", p.Masked())}
		}
		f := netaddr.Index(p.Addr())
		if seen[f] {
			return &FlagError{"cluster-cidr", s, errors.New("at most one CIDR per address family")}
		}
		seen[f] = true
		c.ClusterCIDRs = append(c.ClusterCIDRs, p)
	}
	return nil
}

func (r *raw) checkNodeIPs(c *Config) error {
	var seen [2]bool
	for _, s := range r.nodeIPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return &FlagError{"node-ip", s, err}
		}
		a = a.Unmap()
		if !a.IsGlobalUnicast() && !a.IsPrivate() {
			return &FlagError{"node-ip", s, errors.New("not a unicast address")}
		}
		f := netaddr.Index(a)
		if seen[f] {
			return &FlagError{"node-ip", s, errors.New("at most one address per family")}
		}
		seen[f] = true
		c.NodeIPs = append(c.NodeIPs, a)
	}
	return nil
}

// checkBGP parses the --bgp-* flags; the error names the flag. Whether a
// peer is configured is checked per node, once its labels are known.
func (r *raw) checkBGP(c *Config) error {
	var err error
	c.BGP, err = bgpconfig.Parse(*r.bgp)
	if fe := (*bgpconfig.FlagError)(nil); errors.As(err, &fe) {
		return &FlagError{fe.Flag, fe.Value, fe.Err} // the value is "" for the password
	}
	return err
}

// Logger builds the slog logger the configuration asks for.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// CleanupConfig is what `offload-overlay-agent cleanup` needs.
type CleanupConfig struct {
	StateDir string
}

// ParseCleanup reads the cleanup flags (--state-dir), with the same
// environment fallbacks as the agent.
func ParseCleanup(args []string, getenv func(string) string, out io.Writer) (*CleanupConfig, error) {
	c := &CleanupConfig{StateDir: state.DefaultDir}
	if v := getenv(envPrefix + "STATE_DIR"); v != "" {
		c.StateDir = v
	}
	fs := flag.NewFlagSet("offload-overlay-agent cleanup", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.StateDir, "state-dir", c.StateDir, "node state directory to remove the state file from")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !strings.HasPrefix(c.StateDir, "/") {
		return nil, &FlagError{"state-dir", c.StateDir, errors.New("must be an absolute path")}
	}
	return c, nil
}
