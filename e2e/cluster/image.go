package cluster

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Image is a single-layer container image assembled from host files.
type Image struct {
	Ref        string
	Entrypoint []string
	Cmd        []string
	files      map[string]entry // path in the image (no leading /) -> content
}

type entry struct {
	src  string // host file to copy (regular files)
	data []byte // file content, when src is empty
	link string // symlink target
	mode int64
}

// NewImage returns an empty image called ref.
func NewImage(ref string, entrypoint ...string) *Image {
	return &Image{Ref: ref, Entrypoint: entrypoint, files: map[string]entry{}}
}

// AddFile puts the host file src at dst (absolute path in the image).
func (im *Image) AddFile(src, dst string, mode int64) {
	im.files[strings.TrimPrefix(dst, "/")] = entry{src: src, mode: mode}
}

// AddData puts a file with content data at dst (absolute path in the image).
func (im *Image) AddData(dst string, data []byte, mode int64) {
	im.files[strings.TrimPrefix(dst, "/")] = entry{data: data, mode: mode}
}

// AddLink makes dst a symlink to target.
func (im *Image) AddLink(dst, target string) {
	im.files[strings.TrimPrefix(dst, "/")] = entry{link: target}
}

var lddLine = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// AddHostBinary copies a dynamically linked host binary (or shared object) to
// the same path in the image, with every library ldd lists, so the image runs
// it exactly as the host does (the e2e host is Debian 12, the Dockerfile's
// runtime base is debian:bookworm-slim: the same packages).
func (im *Image) AddHostBinary(p string, dst string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", p, err)
	}
	if dst == "" {
		dst = real
	}
	im.AddFile(real, dst, 0o755)
	out, err := exec.Command("ldd", real).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil
		}
		return fmt.Errorf("ldd %s: %w: %s", real, err, out)
	}
	for _, m := range lddLine.FindAllStringSubmatch(string(out), -1) {
		lib := m[1]
		rl, err := filepath.EvalSymlinks(lib)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", lib, err)
		}
		// keep the name the loader looks for (/lib/x86_64-linux-gnu/libc.so.6
		// is /usr/lib/... through the usrmerge links the image also has)
		im.AddFile(rl, usrMerged(lib), 0o755)
	}
	return nil
}

// usrMerged maps /lib/x, /lib64/x, /bin/x, /sbin/x to /usr/... (Debian 12).
func usrMerged(p string) string {
	for _, d := range []string{"/lib/", "/lib64/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(p, d) {
			return "/usr" + p
		}
	}
	return p
}

// WriteDockerArchive writes the image as a "docker save" tarball that
// `ctr images import` accepts: manifest.json, the config, one layer.
func (im *Image) WriteDockerArchive(out string) error {
	var layer bytes.Buffer
	if err := im.writeLayer(&layer); err != nil {
		return err
	}
	diff := sha256.Sum256(layer.Bytes())
	diffID := hex.EncodeToString(diff[:])
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{
			"Entrypoint": im.Entrypoint, "Cmd": im.Cmd, "WorkingDir": "/",
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + diffID}},
		"history": []map[string]string{{"created_by": "offload-overlay e2e/cluster image.go"}},
	})
	if err != nil {
		return err
	}
	c := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(c[:]) + ".json"
	manifest, _ := json.Marshal([]map[string]any{{
		"Config": cfgName, "RepoTags": []string{im.Ref}, "Layers": []string{diffID + "/layer.tar"},
	}})
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {cfgName, cfg}, {diffID + "/layer.tar", layer.Bytes()}} {
		if err := writeTarFile(tw, e.name, e.data, 0o644); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func (im *Image) writeLayer(w io.Writer) error {
	tw := tar.NewWriter(w)
	names := make([]string, 0, len(im.files))
	dirs := map[string]bool{}
	for n := range im.files {
		names = append(names, n)
		for d := path.Dir(n); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// usrmerge links, as on Debian 12
	for _, l := range [][2]string{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}} {
		if _, ok := im.files[l[0]]; !ok {
			im.files[l[0]] = entry{link: l[1]}
			names = append(names, l[0])
		}
	}
	for _, d := range []string{"tmp", "etc", "run", "var", "proc", "sys", "dev"} {
		dirs[d] = true
	}
	for d := range dirs {
		if _, isFile := im.files[d]; !isFile {
			names = append(names, d+"/")
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			mode := int64(0o755)
			if n == "tmp/" {
				mode = 0o1777
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: mode, ModTime: epoch}); err != nil {
				return err
			}
			continue
		}
		e := im.files[n]
		if e.link != "" {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: n, Linkname: e.link, Mode: 0o777, ModTime: epoch}); err != nil {
				return err
			}
			continue
		}
		data := e.data
		if e.src != "" {
			var err error
			if data, err = os.ReadFile(e.src); err != nil {
				return fmt.Errorf("image %s: %w", im.Ref, err)
			}
		}
		if err := writeTarFile(tw, n, data, e.mode); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeTarFile(tw *tar.Writer, name string, data []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: mode, ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
