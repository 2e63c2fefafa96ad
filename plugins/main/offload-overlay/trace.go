package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// traceEnv, when set to 1 in the plugin's environment, makes ADD and DEL
// log how long each phase took (one line on stderr, which runtimes keep
// in their logs). It is how the latency profile in the README was taken.
const traceEnv = "OFFLOAD_OVERLAY_TRACE"

// phases records the wall time of consecutive phases of one verb.
type phases struct {
	verb  string
	on    bool
	last  time.Time
	start time.Time
	parts []string
}

func newPhases(verb string) *phases {
	now := time.Now()
	return &phases{verb: verb, on: os.Getenv(traceEnv) == "1", last: now, start: now}
}

// mark ends the current phase under name.
func (p *phases) mark(name string) {
	if !p.on {
		return
	}
	now := time.Now()
	p.parts = append(p.parts, fmt.Sprintf("%s=%.2fms", name, ms(now.Sub(p.last))))
	p.last = now
}

// span records a phase that ran concurrently (measured by its owner).
func (p *phases) span(name string, d time.Duration) {
	if p.on {
		p.parts = append(p.parts, fmt.Sprintf("%s=%.2fms(parallel)", name, ms(d)))
	}
}

// log writes the phases on stderr.
func (p *phases) log() {
	if !p.on {
		return
	}
	l := slog.New(slog.NewTextHandler(os.Stderr, nil))
	l.Info("offload-overlay phases", "verb", p.verb, "total", fmt.Sprintf("%.2fms", ms(time.Since(p.start))),
		"phases", strings.Join(p.parts, " "))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// warnRollback logs a failed rollback step on stderr (the runtime keeps it);
// the ADD error itself is what the runtime acts on.
func warnRollback(step string, err error) {
	if err != nil {
		slog.New(slog.NewTextHandler(os.Stderr, nil)).Warn("offload-overlay ADD rollback incomplete", "step", step, "err", err)
	}
}
