package cluster

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConformanceToolboxRuns unpacks the jessie-dnsutils image (the agnhost
// tool set without agnhost) and runs, chrooted into it, the commands the
// upstream DNS and Service specs run there: every Debian binary finds its
// libraries, busybox provides the shell utilities.
func TestConformanceToolboxRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot)")
	}
	im := NewImage(JessieDnsutilsImage, "/bin/sh")
	if err := addToolbox(im); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	tarball := filepath.Join(dir, "img.tar")
	if err := im.WriteDockerArchive(tarball); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	if err := unpackDockerArchive(tarball, root); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{
		`for i in $(seq 1 2); do test -n "$(echo x)" && echo OK; done`,
		`dig -v 2>&1`, `curl --version | head -1`, `nc -h 2>&1 | head -1`,
		`getent hosts localhost || echo "getent ran"`, `ip -V`, `ss -V`, `bash -c 'echo bash'`,
	} {
		out, err := exec.Command("chroot", root, "/bin/sh", "-c", cmd).CombinedOutput()
		if err != nil || strings.Contains(string(out), "not found") {
			t.Errorf("%s: %v: %s", cmd, err, out)
			continue
		}
		t.Logf("%s: %s", cmd, strings.TrimSpace(string(out)))
	}
}

// unpackDockerArchive extracts the single layer of a docker-archive tarball.
func unpackDockerArchive(tarball, root string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		return err
	}
	layer := files[manifest[0].Layers[0]]
	lr := tar.NewReader(strings.NewReader(string(layer)))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(root, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.Symlink(h.Linkname, p)
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			b, _ := io.ReadAll(lr)
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)); err != nil {
				return err
			}
		}
	}
}

// TestConformanceImageNames keeps the packed images' names in step with the
// e2e binary: each is one `e2e.test --list-images` prints (CoreDNS aside,
// which is the cluster's DNS, not an e2e image).
func TestConformanceImageNames(t *testing.T) {
	b := DefaultConformanceBins()
	if err := b.Check(); err != nil {
		t.Skip(err)
	}
	out, err := exec.Command(filepath.Join(b.Dir, "e2e.test"), "--list-images").Output()
	if err != nil {
		t.Fatalf("e2e.test --list-images: %v", err)
	}
	listed := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		listed[l] = true
	}
	for _, ref := range []string{AgnhostImage, JessieDnsutilsImage, NginxImage, BusyBoxImage, UpstreamPauseImage} {
		if !listed[ref] {
			t.Errorf("%s is not an image e2e.test uses", ref)
		}
	}
}

// TestTrimJUnit: the kept report has the suite nodes and the focused specs,
// and counts that match them.
func TestTrimJUnit(t *testing.T) {
	in := `<testsuites tests="4" disabled="2" errors="0" failures="0">
  <testsuite name="s" tests="4" disabled="0" skipped="2" failures="0">
    <testcase name="[SynchronizedBeforeSuite]" status="passed" time="1"></testcase>
    <testcase name="[sig-network] DNS x [Conformance]" status="passed" time="1">
      <system-err>log</system-err>
    </testcase>
    <testcase name="[sig-apps] y [Conformance]" status="skipped" time="0">
      <skipped message="skipped"></skipped>
    </testcase>
    <testcase name="[sig-network] z [Conformance]" status="skipped" time="0"></testcase>
  </testsuite>
</testsuites>`
	out := string(trimJUnit([]byte(in), regexp.MustCompile(ConformanceFocus)))
	for _, want := range []string{`<testsuites tests="3" disabled="1"`, `tests="3" disabled="0" skipped="1"`, "DNS x", "z [Conformance]", "SynchronizedBeforeSuite"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "sig-apps") {
		t.Errorf("unfocused skipped spec kept:\n%s", out)
	}
}
