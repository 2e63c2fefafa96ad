package config

import (
	"errors"
	"flag"
	"strconv"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// Environment variables of the flags `run` and `doctor` share: the
// DaemonSet sets them on the agent's container, so `kubectl exec ...
// offload-overlay-agent doctor` in that container decides with the agent's
// own configuration.
const (
	EnvMode                   = envPrefix + "MODE"
	EnvEncap                  = envPrefix + "ENCAP"
	EnvUnderlayRoutesPodCIDRs = envPrefix + "UNDERLAY_ROUTES_POD_CIDRS"
	EnvAllowNestedEncap       = envPrefix + "ALLOW_NESTED_ENCAP"
	EnvIface                  = envPrefix + "IFACE"
	EnvStateDir               = envPrefix + "STATE_DIR"
)

// Env gives a flag its default from the environment.
type Env func(string) string

// Str is the variable's value, def when it is unset or empty.
func (e Env) Str(name, def string) string {
	if v := e(name); v != "" {
		return v
	}
	return def
}

// Bool is the variable as a boolean (false when unset or not one).
func (e Env) Bool(name string) bool {
	b, _ := strconv.ParseBool(e(name))
	return b
}

// DecisionFlags are decision.Config's flags, defined once for the agent
// (`run`) and `doctor` so that both accept the same words, defaults and
// environment fallbacks.
type DecisionFlags struct {
	mode, encap      string
	underlay, nested bool
}

// AddDecisionFlags registers --mode, --encap, --underlay-routes-pod-cidrs
// and --allow-nested-encap on fs.
func AddDecisionFlags(fs *flag.FlagSet, env Env) *DecisionFlags {
	d := &DecisionFlags{}
	fs.StringVar(&d.mode, "mode", env.Str(EnvMode, string(decision.ModeAuto)), "datapath: auto|vxlan|geneve|native")
	fs.StringVar(&d.encap, "encap", env.Str(EnvEncap, string(decision.ModeVXLAN)), "tunnel auto uses when it must encapsulate: vxlan|geneve")
	fs.BoolVar(&d.underlay, "underlay-routes-pod-cidrs", env.Bool(EnvUnderlayRoutesPodCIDRs), "the underlay routes every node's pod CIDR (cloud route table, BGP)")
	fs.BoolVar(&d.nested, "allow-nested-encap", env.Bool(EnvAllowNestedEncap), "allow a tunnel inside a tunnel underlay (slow)")
	return d
}

// Config validates the parsed flags (a *FlagError names the bad one).
func (d *DecisionFlags) Config() (decision.Config, error) {
	c := decision.Config{UnderlayRoutesPodCIDRs: d.underlay, AllowNestedEncap: d.nested}
	switch m := decision.Mode(d.mode); m {
	case decision.ModeAuto, decision.ModeVXLAN, decision.ModeGeneve, decision.ModeNative:
		c.Mode = m
	default:
		return c, &FlagError{"mode", d.mode, errors.New("want auto, vxlan, geneve or native")}
	}
	switch m := decision.Mode(d.encap); m {
	case decision.ModeVXLAN, decision.ModeGeneve:
		c.Encap = m
	default:
		return c, &FlagError{"encap", d.encap, errors.New("want vxlan or geneve")}
	}
	return c, nil
}

// AddIfaceFlag registers --iface (the uplink override) on fs.
func AddIfaceFlag(fs *flag.FlagSet, env Env, p *string, usage string) {
	fs.StringVar(p, "iface", env.Str(EnvIface, ""), usage)
}

// AddStateDirFlag registers --state-dir (the agent's state directory) on fs.
func AddStateDirFlag(fs *flag.FlagSet, env Env, p *string, usage string) {
	fs.StringVar(p, "state-dir", env.Str(EnvStateDir, state.DefaultDir), usage)
}
