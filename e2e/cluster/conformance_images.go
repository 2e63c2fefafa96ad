package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Images the upstream sig-network conformance specs run, under exactly the
// names test/utils/image/manifest.go gives them for Kubernetes v1.34 (the
// e2e framework pulls nothing when the image is present; CheckImageNames
// compares them with `e2e.test --list-images`).
const (
	AgnhostImage        = "registry.k8s.io/e2e-test-images/agnhost:2.56"
	JessieDnsutilsImage = "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7"
	NginxImage          = "registry.k8s.io/e2e-test-images/nginx:1.14-4"
	BusyBoxImage        = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1"
	UpstreamPauseImage  = "registry.k8s.io/pause:3.10.1"
	// CoreDNSImage is cluster DNS (DeployCoreDNS), not an e2e image.
	CoreDNSImage = "localhost/ooc-coredns:" + CoreDNSVersion
	// CoreDNSVersion is what kubeadm v1.34 deploys (e2e/k8s/build-conformance.sh).
	CoreDNSVersion = "v1.12.1"
)

// conformanceImages are the e2e images, built from Go sources (agnhost,
// CoreDNS) and Debian 12 packages, packed the way image.go packs the
// project's: one layer, no registry.
//
//   - agnhost: the binary plus what its Dockerfile installs from Alpine
//     (bind-tools, curl, netcat-openbsd, iproute2, bash), taken from the
//     Debian packages that hold the same tools, busybox for the shell
//     utilities, /coredns (the DNS specs' configurable server) and porter's
//     certificate.
//   - jessie-dnsutils: the same tool set without agnhost (the DNS specs run
//     dig and getent in it).
//   - nginx: a stand-in serving HTTP on port 80 (agnhost test-webserver);
//     the EndpointSlice specs only need the pods to run.
//   - busybox: Debian's busybox-static.
//   - pause: the e2e's own pause binary under the upstream name.
func conformanceImages(b ConformanceBins, testimg string) ([]*Image, error) {
	agnhost := NewImage(AgnhostImage, "/agnhost")
	agnhost.Cmd = []string{"pause"}
	agnhost.AddFile(filepath.Join(b.Dir, "agnhost"), "/agnhost", 0o755)
	agnhost.AddLink("/agnhost-2", "agnhost")
	agnhost.AddFile(filepath.Join(b.Dir, "coredns"), "/coredns", 0o755)
	for _, f := range []string{"localhost.crt", "localhost.key"} {
		agnhost.AddFile(filepath.Join(b.AgnhostSrc, "porter", f), "/"+f, 0o644)
	}
	agnhost.AddData("/uploads/.keep", nil, 0o644)
	jessie := NewImage(JessieDnsutilsImage, "/bin/sh")
	for _, im := range []*Image{agnhost, jessie} {
		if err := addToolbox(im); err != nil {
			return nil, err
		}
	}

	nginx := NewImage(NginxImage, "/agnhost", "test-webserver", "--port", "80")
	nginx.AddFile(filepath.Join(b.Dir, "agnhost"), "/agnhost", 0o755)

	busybox := NewImage(BusyBoxImage)
	busybox.Cmd = []string{"sh"}
	if err := addBusybox(busybox, nil); err != nil {
		return nil, err
	}

	pause := NewImage(UpstreamPauseImage, "/pause")
	pause.AddFile(testimg, "/pause", 0o755)

	coredns := NewImage(CoreDNSImage, "/coredns")
	coredns.AddFile(filepath.Join(b.Dir, "coredns"), "/coredns", 0o755)
	return []*Image{agnhost, jessie, nginx, busybox, pause, coredns}, nil
}

// toolboxBinaries are the Debian binaries the e2e specs run inside agnhost
// and jessie-dnsutils: dig (bind9-dnsutils), curl, nc (netcat-openbsd, the
// flavour agnhost's Dockerfile installs: `nc -v -z -w 2`, `nc -vuz`), ip and
// ss (iproute2), getent (libc-bin), bash, and dash as sh: Debian's
// busybox-static runs its own applets before PATH (ash "standalone" mode),
// so with busybox as sh `ip` would be busybox's, not iproute2's.
var toolboxBinaries = []string{"/usr/bin/dig", "/usr/bin/nslookup", "/usr/bin/curl", "/usr/bin/nc", "/usr/bin/ip", "/usr/bin/ss", "/usr/bin/getent", "/usr/bin/bash", "/usr/bin/dash"}

func addToolbox(im *Image) error {
	provided := map[string]bool{}
	for _, b := range toolboxBinaries {
		if err := im.AddHostBinary(b, b); err != nil {
			return fmt.Errorf("%s: %w (make deps)", im.Ref, err)
		}
		provided[filepath.Base(b)] = true
	}
	provided["sh"], provided["ash"] = true, true
	if err := addBusybox(im, provided); err != nil {
		return err
	}
	im.AddLink("/usr/bin/sh", "dash")
	// glibc's getent and curl resolve names through NSS: files, then DNS.
	im.AddData("/etc/nsswitch.conf", []byte("passwd: files\ngroup: files\nhosts: files dns\n"), 0o644)
	im.AddData("/etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\nuser-defined-in-image:x:1000:1000::/home:/bin/sh\n"), 0o644)
	im.AddData("/etc/group", []byte("root:x:0:\ngroup-defined-in-image:x:50000:user-defined-in-image\n"), 0o644)
	return nil
}

// addBusybox adds Debian's busybox-static at /usr/bin/busybox with a link
// for each applet not in skip (/bin is a link to usr/bin in these images).
func addBusybox(im *Image, skip map[string]bool) error {
	const bb = "/usr/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		return fmt.Errorf("%s: %w (make deps: busybox-static)", im.Ref, err)
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	im.AddFile(bb, bb, 0o755)
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !skip[a] && !strings.ContainsAny(a, "[]") {
			im.AddLink("/usr/bin/"+a, "busybox")
		}
	}
	im.AddLink("/usr/bin/[", "busybox")
	return nil
}
