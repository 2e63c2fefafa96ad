package agent

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
)

// Main builds the production agent from cfg around the node's datapath
// and BGP speaker, which the binary builds (they link netlink, this
// package does not), and runs it until ctx ends.
func Main(ctx context.Context, cfg *config.Config, k datapath.Kernel, speaker NewSpeaker, log *slog.Logger) error {
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	rc.UserAgent = "offload-overlay-agent/" + cfg.NodeName
	// core/v1 only (protobuf reads, JSON writes): see coreapi's doc for why
	// not client-go's clientset.
	cs, err := coreapi.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("building Kubernetes client: %w", err)
	}
	a, err := New(cfg, Deps{Nodes: cs.Nodes(), Events: cs.Events(), Kernel: k, BGP: speaker, Decide: decision.Decide, Registry: prometheus.NewRegistry(), Log: log})
	if err != nil {
		return err
	}
	a.RegisterProcessMetrics()
	if cfg.MetricsAddr != "" {
		addr, err := a.Serve(ctx, cfg.MetricsAddr)
		if err != nil {
			return err
		}
		log.Info("serving /metrics, /healthz, /readyz", "addr", addr.String())
	}
	return a.Run(ctx)
}

// restConfig loads kubeconfig, or the in-cluster service account when
// kubeconfig is empty.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config (set --kubeconfig outside a pod): %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	return rc, nil
}
