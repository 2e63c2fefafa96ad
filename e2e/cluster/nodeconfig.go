package cluster

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
)

func netnsPath(name string) string { return topo.NetnsPath(name) }

// writeConfigs writes the node's containerd config, kubelet config and the
// kubeconfigs of its kubelet (system:node:<name>, so the Node authorizer and
// NodeRestriction apply) and kube-proxy (system:kube-proxy).
func (n *Node) writeConfigs() error {
	c := n.cluster
	ctr := c.opts.Runtime.Config(PauseImage)
	kubelet := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /%s
failSwapOn: false
failCgroupV1: false
address: %s
port: 10250
readOnlyPort: 0
healthzPort: 0
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
clusterDNS: [%s]
clusterDomain: cluster.local
registerNode: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {}
nodeStatusUpdateFrequency: 4s
protectKernelDefaults: false
`, n.Name, n.IP, c.opts.ClusterDNS)
	files := map[string]string{"containerd.toml": ctr, "kubelet.yaml": kubelet}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(n.Dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("node %s: writing %s: %w", n.Name, name, err)
		}
	}
	if err := k8senv.WriteKubeconfig(filepath.Join(n.Dir, "kubelet.kubeconfig"), c.Env.URL, c.Env.CACertFile, c.nodeTokens[n.Name]); err != nil {
		return err
	}
	return k8senv.WriteKubeconfig(filepath.Join(n.Dir, "kube-proxy.kubeconfig"), c.Env.URL, c.Env.CACertFile, c.proxyToken)
}
