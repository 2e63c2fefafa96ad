package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics (Prometheus), /healthz (the control loop is
// alive) and /readyz (the datapath converged at least once).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		last := a.lastSyncAt.Load()
		if up := time.Since(a.startedAt); last == 0 && a.cfg.StartupWindow > 0 && up > a.cfg.StartupWindow {
			http.Error(w, fmt.Sprintf("never converged in %s since start (--startup-window %s)", up.Round(time.Second), a.cfg.StartupWindow), http.StatusServiceUnavailable)
			return
		}
		stale := 3*a.cfg.ResyncPeriod + time.Minute
		if last != 0 && time.Since(time.Unix(last, 0)) > stale {
			http.Error(w, fmt.Sprintf("no successful converge for %s", time.Since(time.Unix(last, 0)).Round(time.Second)), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "datapath not converged yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// RegisterProcessMetrics adds the Go runtime and process collectors
// (RSS, goroutines) to the agent's registry.
func (a *Agent) RegisterProcessMetrics() {
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Serve listens on addr until ctx ends. The listener is opened before
// returning so a bad address fails start-up.
func (a *Agent) Serve(ctx context.Context, addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server stopped", "err", err)
		}
	}()
	return ln.Addr(), nil
}
