package cniexec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/types/create"
)

// Override replaces CNI_* variables of this process's environment for one
// delegated call; empty fields keep the inherited value.
type Override struct {
	Command, ContainerID, IfName string
}

// ErrNotFound says the plugin is in none of CNI_PATH's directories.
var ErrNotFound = errors.New("plugin not found in CNI_PATH")

// Find returns the path of plugin in the CNI_PATH directories.
func Find(plugin string) (string, error) {
	if plugin == "" || strings.ContainsRune(plugin, os.PathSeparator) {
		return "", fmt.Errorf("plugin name %q: %w", plugin, ErrNotFound)
	}
	dirs := filepath.SplitList(os.Getenv("CNI_PATH"))
	for _, d := range dirs {
		p := filepath.Join(d, plugin)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s in %v: %w", plugin, dirs, ErrNotFound)
}

// Run executes plugin with conf on stdin and returns its stdout. A failing
// plugin's CNI error comes back as *types.Error.
func Run(plugin string, conf []byte, o Override) ([]byte, error) {
	path, err := Find(plugin)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	for attempt := 0; ; attempt++ {
		stdout.Reset()
		stderr.Reset()
		cmd := exec.Command(path)
		cmd.Env = environ(o)
		cmd.Stdin = bytes.NewReader(conf)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err = cmd.Run()
		// The binary is being replaced (an upgrade): wait like libcni does.
		if errors.Is(err, syscall.ETXTBSY) && attempt < 5 {
			time.Sleep(time.Second)
			continue
		}
		break
	}
	if err != nil {
		return nil, pluginError(err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// Add runs the plugin's ADD and parses its result.
func Add(plugin string, conf []byte) (types.Result, error) {
	out, err := Run(plugin, conf, Override{Command: "ADD"})
	if err != nil {
		return nil, err
	}
	res, err := create.CreateFromBytes(out)
	if err != nil {
		return nil, fmt.Errorf("parsing %s result: %w", plugin, err)
	}
	return res, nil
}

// Call runs a verb without a result (DEL, CHECK, STATUS, GC).
func Call(plugin, verb string, conf []byte) error {
	_, err := Run(plugin, conf, Override{Command: verb})
	return err
}

func environ(o Override) []string {
	set := map[string]string{"CNI_COMMAND": o.Command, "CNI_CONTAINERID": o.ContainerID, "CNI_IFNAME": o.IfName}
	env := os.Environ()
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok && v != "" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range set {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func pluginError(err error, stdout, stderr []byte) error {
	var ce types.Error
	if len(bytes.TrimSpace(stdout)) > 0 && json.Unmarshal(stdout, &ce) == nil && (ce.Code != 0 || ce.Msg != "") {
		return &ce
	}
	msg := strings.TrimSpace(string(stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(stdout))
	}
	return fmt.Errorf("plugin failed: %w: %s", err, msg)
}
