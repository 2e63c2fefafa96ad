package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	cnins "github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/internal/testenv/netnstest"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// oiPrefix names the namespaces of the healthz and policy rule tests apart
// from the package's (nsPrefix).
const oiPrefix = "oi-"

// TestHealthzStartupWindow: /healthz is the liveness probe, so a stuck
// agent must fail it and be restarted, but not before the kubelet had a
// chance to converge it (issue 11). An agent that can never converge (its
// Node has no pod CIDR: it waits for one, without failing start) passes
// /healthz inside its --startup-window and fails it past the window; an
// agent that converged stays healthy past its window.
//
// No assertion depends on timing: the "inside the window" checks use a
// window of an hour, or hold only when the response came back before the
// window ended by the test's own clock (started before the agent's); the
// rest polls with generous deadlines.
func TestHealthzStartupWindow(t *testing.T) {
	needRoot(t)
	env := k8senv.Start(t, k8senv.Options{})
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	client, err := coreapi.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	nsStuck, nsOK := healthNodes(t, admin)
	log := slog.New(slog.NewTextHandler(io.MultiWriter(&syncBuffer{}, testWriter{t}), nil))

	t.Run("never converged, inside the window", func(t *testing.T) {
		cfg, stateDir := healthConfig(t, "node-stuck", time.Hour)
		a := startAgent(t, client, cfg, nsStuck, nil, log, false)
		waitWaiting(t, stateDir)
		if code, body := healthz(a.Handler()); code != http.StatusOK || a.Ready() {
			t.Errorf("/healthz %d %q (ready %v) inside an hour-long window, want 200", code, body, a.Ready())
		}
	})

	t.Run("never converged, past the window", func(t *testing.T) {
		const window = 3 * time.Second
		cfg, stateDir := healthConfig(t, "node-stuck", window)
		t0 := time.Now()
		a := startAgent(t, client, cfg, nsStuck, nil, log, false)
		h := a.Handler()
		waitWaiting(t, stateDir)
		code, body := healthz(h)
		if since := time.Since(t0); since < window && code != http.StatusOK {
			t.Errorf("/healthz %d %q %s after start, inside the %s window: want 200", code, body, since.Round(time.Millisecond), window)
		} else if since >= window {
			t.Logf("first /healthz came %s after start, past the %s window: the inside-the-window check is left to the other case", since, window)
		}
		waitFor(t, time.Minute, "/healthz failing past the start-up window", func() (bool, string) {
			code, body := healthz(h)
			return code == http.StatusServiceUnavailable, fmt.Sprintf("%d %q", code, body)
		})
		if code, body := healthz(h); code != http.StatusServiceUnavailable || !strings.Contains(body, "never converged") ||
			!strings.Contains(body, "--startup-window 3s") || a.Ready() {
			t.Errorf("/healthz %d %q (ready %v), want 503 naming the window", code, body, a.Ready())
		}
	})

	t.Run("converged, past the window", func(t *testing.T) {
		const window = time.Second
		cfg, stateDir := healthConfig(t, "node-ok", window)
		t0 := time.Now()
		a := startAgent(t, client, cfg, nsOK, nil, log, false)
		h := a.Handler()
		waitFor(t, time.Minute, "converged", func() (bool, string) {
			s, err := state.Read(stateDir)
			return a.Ready() && err == nil && s.Ready, fmt.Sprintf("%+v %v", s, err)
		})
		if d := 2*window - time.Since(t0); d > 0 {
			time.Sleep(d) // past the window for sure: lets a wrong check show
		}
		if code, body := healthz(h); code != http.StatusOK {
			t.Errorf("/healthz %d %q past the window of a converged agent, want 200", code, body)
		}
	})
}

// healthNodes creates the two Nodes and their namespaces: node-stuck
// without a pod CIDR (its agent waits), node-ok with a pod CIDR and its
// node IP on a veth in its namespace (its agent converges alone).
func healthNodes(t *testing.T, admin kubernetes.Interface) (stuck, ok cnins.NetNS) {
	t.Helper()
	_, stuck = netnstest.Add(t, oiPrefix, "stuck")
	okName, ok := netnstest.Add(t, oiPrefix, "ok")
	for _, c := range [][]string{
		{"link", "add", "oi0", "type", "veth", "peer", "name", "oi1"},
		{"addr", "add", "192.168.79.1/24", "dev", "oi0"},
		{"link", "set", "oi0", "up"}, {"link", "set", "oi1", "up"},
	} {
		netnstest.Run(t, append([]string{"ip", "-n", okName}, c...)...)
	}
	createHealthNode(t, admin, "node-stuck", "192.168.79.9", "")
	createHealthNode(t, admin, "node-ok", "192.168.79.1", "10.244.1.0/24")
	return stuck, ok
}

func createHealthNode(t *testing.T, admin kubernetes.Interface, name, ip, podCIDR string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if podCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDR, []string{podCIDR}
	}
	ctx := context.Background()
	created, err := admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	created.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	if _, err := admin.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting the address of %s: %v", name, err)
	}
}

// healthConfig is an agent for node with the given start-up window and
// nothing periodic within the test (resync and probes an hour away).
func healthConfig(t *testing.T, node string, window time.Duration) (*config.Config, string) {
	stateDir := t.TempDir()
	return &config.Config{NodeName: node, StateDir: stateDir, VNI: 1, VXLANPort: 4789,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
		Decision:     decision.Config{Mode: decision.ModeAuto}, ResyncPeriod: time.Hour, ProbePeriod: time.Hour,
		StartupWindow: window}, stateDir
}

// waitWaiting waits until the agent recorded that it waits for its Node's
// pod CIDR: it runs, and will not converge.
func waitWaiting(t *testing.T, stateDir string) {
	t.Helper()
	waitFor(t, time.Minute, "the agent waiting for its pod CIDR", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && !s.Ready && strings.Contains(s.Reason, "waiting for node"), fmt.Sprintf("%+v %v", s, err)
	})
}

// healthz asks h for /healthz as the kubelet's liveness probe would.
func healthz(h http.Handler) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}
