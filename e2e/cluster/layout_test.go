package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

// TestImageLayoutMatchesDockerfile keeps the e2e's hand-packed image and the
// Dockerfile's final stage in step: every path the e2e packs is one the
// Dockerfile installs.
func TestImageLayoutMatchesDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for dst := range ImageLayout {
		dir, base := filepath.Dir(dst), filepath.Base(dst)
		if !strings.Contains(df, "/out"+dst) && !(strings.Contains(df, "/out"+dir+"/") && strings.Contains(df, "/"+base)) {
			t.Errorf("Dockerfile does not install %s", dst)
		}
	}
	ref, err := ManifestImage(filepath.Join(repoRoot(t), ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ref, "ghcr.io/offload-overlay/offload-overlay:") {
		t.Errorf("manifest image %q", ref)
	}
}

// TestConflist checks the shipped conflist: cniVersion 1.0.0 (containerd
// 1.6 rejects 1.1.0, and reads only this field) with cniVersions offering
// 1.0.0 and 1.1.0 (libcni >= 1.2, so containerd 2, picks 1.1.0 and calls
// STATUS), the plugin first then portmap and bandwidth, and host-local
// without ranges (filled from the node's pod CIDRs).
func TestConflist(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "conf/cni/10-offload-overlay.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		CNIVersion  string   `json:"cniVersion"`
		CNIVersions []string `json:"cniVersions"`
		Name        string   `json:"name"`
		Plugins     []struct {
			Type string         `json:"type"`
			IPAM map[string]any `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range c.Plugins {
		types = append(types, p.Type)
	}
	if c.CNIVersion != "1.0.0" || strings.Join(types, ",") != "offload-overlay,portmap,bandwidth" {
		t.Errorf("conflist: cniVersion %s plugins %v", c.CNIVersion, types)
	}
	if strings.Join(c.CNIVersions, ",") != "1.0.0,1.1.0" {
		t.Errorf("conflist: cniVersions %v, want [1.0.0 1.1.0]", c.CNIVersions)
	}
	// What each runtime's libcni makes of it: containerd 2 (libcni with
	// cniVersions) 1.1.0, containerd 1.6 (older libcni) the 1.0.0 field.
	list, err := libcni.ConfListFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if list.CNIVersion != "1.1.0" {
		t.Errorf("libcni picks cniVersion %s from the conflist, want 1.1.0", list.CNIVersion)
	}
	if ipam := c.Plugins[0].IPAM; ipam["type"] != "host-local" || ipam["ranges"] != nil {
		t.Errorf("ipam %v: want host-local without ranges", ipam)
	}
}
