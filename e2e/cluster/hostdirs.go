package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// nodePaths are the standard paths every node gets privately (bind mounts in
// the node's mount namespace, see node-init.sh).
var nodePaths = []string{
	"var/lib/kubelet", "var/lib/containerd", "var/lib/cni", "var/log/pods", "var/log/containers",
	"etc/cni/net.d", "opt/cni/bin", "lib/modules",
}

// hostDirs creates the mount points nodePaths need on the host (a bind mount
// needs an existing directory) and removes, at the end, exactly those it
// created, deepest first, and only while empty.
type hostDirs struct {
	mu      sync.Mutex
	created []string
}

func (h *hostDirs) ensure() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range nodePaths {
		var missing []string
		for d := "/" + p; d != "/"; d = filepath.Dir(d) {
			if _, err := os.Stat(d); err == nil {
				break
			}
			missing = append(missing, d)
		}
		slices.Reverse(missing)
		for _, d := range missing {
			if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
				return fmt.Errorf("creating mount point %s: %w", d, err)
			}
			h.created = append(h.created, d)
		}
	}
	return nil
}

func (h *hostDirs) remove() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.created) - 1; i >= 0; i-- {
		os.Remove(h.created[i]) // fails (and keeps it) when something else put files there
	}
	h.created = nil
}
