package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// Images the cluster e2e loads into every node's containerd (no registry).
const (
	PauseImage = "localhost/ooc-pause:1"
	TestImage  = "localhost/ooc-testimg:1"
)

// ManifestImage returns the image the manifest's DaemonSet runs: the e2e
// loads the project's image under exactly that name, so the manifest is
// applied unchanged.
func ManifestImage(manifest string) (string, error) {
	b, err := os.ReadFile(manifest)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*image:\s*(\S+)`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s: no image", manifest)
	}
	return string(m[1]), nil
}

// ImageLayout lists the files of the Dockerfile's final stage that come from
// this repository's build, as image path -> path relative to the inputs:
// "bin/..." (make build), "ref/..." (make ref-plugins) or "conf/...". The
// Dockerfile puts the same files at the same paths (TestImageLayoutMatches-
// Dockerfile keeps the two in step).
var ImageLayout = map[string]string{
	"/usr/local/bin/offload-overlay-agent":             "bin/offload-overlay-agent",
	"/opt/offload-overlay/bin/offload-overlay":         "bin/offload-overlay",
	"/opt/offload-overlay/bin/host-local":              "ref/host-local",
	"/opt/offload-overlay/bin/portmap":                 "ref/portmap",
	"/opt/offload-overlay/bin/bandwidth":               "ref/bandwidth",
	"/opt/offload-overlay/bin/loopback":                "ref/loopback",
	"/opt/offload-overlay/10-offload-overlay.conflist": "conf/cni/10-offload-overlay.conflist",
	"/usr/local/bin/install-cni.sh":                    "conf/cni/install-cni.sh",
}

// ProjectImage assembles the project's image: ImageLayout from the repo's
// build outputs, plus what the Dockerfile's runtime base
// (debian:bookworm-slim + iptables, nft backend) provides that the image
// uses: a POSIX shell and coreutils for install-cni.sh, and iptables.
func ProjectImage(ref, repo, refCNIDir string) (*Image, error) {
	im := NewImage(ref, "/usr/local/bin/offload-overlay-agent")
	im.Cmd = []string{"run"}
	for dst, src := range ImageLayout {
		var p string
		switch {
		case filepath.Dir(src) == "ref":
			p = filepath.Join(refCNIDir, filepath.Base(src))
		default:
			p = filepath.Join(repo, src)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("image file %s: %w (run make build ref-plugins)", dst, err)
		}
		mode := int64(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		im.AddFile(p, dst, mode)
	}
	for _, b := range []string{"/usr/bin/dash", "/usr/bin/cp", "/usr/bin/mv", "/usr/bin/chmod", "/usr/bin/mkdir", "/usr/bin/cat", "/usr/sbin/xtables-nft-multi"} {
		if err := im.AddHostBinary(b, ""); err != nil {
			return nil, err
		}
	}
	im.AddLink("/usr/bin/sh", "dash")
	// update-alternatives --set iptables/ip6tables *-nft, as the Dockerfile does
	for _, l := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore", "iptables-nft", "ip6tables-nft"} {
		im.AddLink("/usr/sbin/"+l, "xtables-nft-multi")
	}
	exts, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/xtables/*.so")
	if len(exts) == 0 {
		return nil, fmt.Errorf("no iptables extensions in /usr/lib/x86_64-linux-gnu/xtables (apt-get install iptables)")
	}
	for _, e := range exts {
		if err := im.AddHostBinary(e, e); err != nil { // keep each name: many are symlinks (libxt_MASQUERADE.so -> libxt_NAT.so)
			return nil, err
		}
	}
	for _, f := range []string{"/etc/protocols", "/etc/services", "/etc/ethertypes"} {
		if _, err := os.Stat(f); err == nil {
			im.AddFile(f, f, 0o644)
		}
	}
	return im, nil
}

// TestImages are the pause image and the test tool image, both from one
// static Go binary (e2e/cluster/cmd/testimg).
func TestImages(testimgBin string) []*Image {
	pause := NewImage(PauseImage, "/pause")
	pause.AddFile(testimgBin, "/pause", 0o755)
	tool := NewImage(TestImage, "/testimg")
	tool.AddFile(testimgBin, "/testimg", 0o755)
	tool.AddFile(testimgBin, "/pause", 0o755)
	return []*Image{pause, tool}
}
