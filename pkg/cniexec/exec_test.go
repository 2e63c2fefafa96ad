package cniexec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// fakePlugin writes an executable shell script named name into a new
// CNI_PATH directory.
func fakePlugin(t *testing.T, name, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CNI_PATH", dir)
}

func TestAdd(t *testing.T) {
	fakePlugin(t, "ipam", `cat >/dev/null; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1"}]}'`)
	res, err := Add("ipam", []byte(`{"cniVersion":"1.0.0"}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := current.NewResultFromResult(res)
	if err != nil || len(r.IPs) != 1 || r.IPs[0].Address.String() != "10.1.0.5/24" {
		t.Fatalf("result %+v %v", r, err)
	}
}

func TestEnvironmentOverride(t *testing.T) {
	fakePlugin(t, "ipam", `cat >/dev/null; echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS" >&2; exit 1`)
	t.Setenv("CNI_COMMAND", "GC")
	t.Setenv("CNI_CONTAINERID", "")
	t.Setenv("CNI_NETNS", "/run/netns/x")
	_, err := Run("ipam", []byte(`{}`), Override{Command: "DEL", ContainerID: "c1", IfName: "eth1"})
	if err == nil || !strings.Contains(err.Error(), "DEL c1 eth1 /run/netns/x") {
		t.Fatalf("environment not overridden: %v", err)
	}
}

func TestPluginError(t *testing.T) {
	fakePlugin(t, "ipam", `cat >/dev/null; echo '{"cniVersion":"1.0.0","code":11,"msg":"no addresses"}'; exit 1`)
	err := Call("ipam", "DEL", []byte(`{}`))
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != 11 || ce.Msg != "no addresses" {
		t.Fatalf("want CNI error 11, got %#v", err)
	}
}

func TestNotFound(t *testing.T) {
	t.Setenv("CNI_PATH", t.TempDir())
	for _, name := range []string{"missing", "../etc/passwd", ""} {
		if err := Call(name, "ADD", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q: want ErrNotFound, got %v", name, err)
		}
	}
}
