package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/offload-overlay/offload-overlay/internal/testenv/cnienv"
)

var (
	buildOnce sync.Once
	buildDir  string
	pluginBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// newEnv builds the plugin binary once and returns a throwaway node.
func newEnv(t *testing.T) *cnienv.Env {
	t.Helper()
	requireRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "oo-plugin-")
		if buildErr == nil {
			pluginBin, buildErr = cnienv.BuildPlugin(buildDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	env, err := cnienv.New(t.TempDir(), pluginBin, refCNIDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// chainList is a conflist: offload-overlay, then portmap and bandwidth.
func chainList(t *testing.T, ver, name, dataDir string, subnets []string) *libcni.NetworkConfigList {
	t.Helper()
	var ranges []string
	for _, s := range subnets {
		ranges = append(ranges, fmt.Sprintf(`[{"subnet":%q}]`, s))
	}
	raw := fmt.Sprintf(`{
  "cniVersion": %q, "name": %q,
  "plugins": [
    {"type": "offload-overlay", "mtu": 1400, "stateDir": %q,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [%s]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "backend": "iptables"},
    {"type": "bandwidth", "capabilities": {"bandwidth": true}}
  ]}`, ver, name, t.TempDir(), dataDir, strings.Join(ranges, ","))
	list, err := libcni.NetworkConfFromBytes([]byte(raw))
	if err != nil {
		t.Fatalf("conflist: %v", err)
	}
	return list
}

func chainRuntime(id string, podNS ns.NetNS) *libcni.RuntimeConf {
	rt := cnienv.RuntimeConf(id, podNS)
	rt.CapabilityArgs = map[string]any{
		"portMappings": []map[string]any{{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}},
		"bandwidth":    map[string]any{"ingressRate": 100000000, "ingressBurst": 1000000, "egressRate": 100000000, "egressBurst": 1000000},
	}
	return rt
}

// TestLibcniChain drives the binary through libcni, the library containerd
// and CRI-O use, chained with the real portmap and bandwidth plugins.
func TestLibcniChain(t *testing.T) {
	for _, ver := range allVersions {
		for _, fam := range []string{"v4", "dual"} {
			t.Run(ver+"/"+fam, func(t *testing.T) {
				env := newEnv(t)
				list := chainList(t, ver, "chain", env.DataDir, families[fam])
				podNS := newNS(t)
				rt := chainRuntime("ctr-chain", podNS)
				ctx := context.Background()
				res, err := env.Add(ctx, list, rt)
				if err != nil {
					t.Fatalf("ADD: %v", err)
				}
				r, err := current.NewResultFromResult(res)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.IPs) != len(families[fam]) || len(r.Interfaces) < 2 {
					t.Fatalf("chained result: %+v", r)
				}
				for _, ipc := range r.IPs {
					if err := ping(env.HostNS, ipc.Address.IP.String()); err != nil {
						t.Errorf("host -> pod: %v", err)
					}
				}
				if testutils.SpecVersionHasCHECK(ver) {
					if err := env.Check(ctx, list, rt); err != nil {
						t.Errorf("CHECK: %v", err)
					}
				}
				if err := env.Del(ctx, list, rt); err != nil {
					t.Fatalf("DEL: %v", err)
				}
				if err := env.Del(ctx, list, rt); err != nil {
					t.Fatalf("second DEL: %v", err)
				}
				assertClean(t, env.HostNS, env.DataDir, "chain")
			})
		}
	}
}

// TestLibcniConcurrent: 50 pods ADDed at once, then DELeted at once; every
// call succeeds and nothing is left.
func TestLibcniConcurrent(t *testing.T) {
	const pods = 50
	env := newEnv(t)
	list := chainList(t, "1.1.0", "conc", env.DataDir, families["dual"])
	ctx := context.Background()
	rts := make([]*libcni.RuntimeConf, pods)
	for i := range rts {
		rts[i] = cnienv.RuntimeConf(fmt.Sprintf("ctr-conc-%02d", i), newNS(t))
	}
	run := func(op string, f func(rt *libcni.RuntimeConf) error) {
		var wg sync.WaitGroup
		errs := make([]error, pods)
		for i, rt := range rts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f(rt)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%s pod %d: %v", op, i, err)
			}
		}
	}
	run("ADD", func(rt *libcni.RuntimeConf) error { _, err := env.Add(ctx, list, rt); return err })
	if files := ipamFiles(t, env.DataDir, "conc"); len(files) != 2*pods {
		t.Errorf("IPAM records after ADD: %d, want %d", len(files), 2*pods)
	}
	run("DEL", func(rt *libcni.RuntimeConf) error { return env.Del(ctx, list, rt) })
	assertClean(t, env.HostNS, env.DataDir, "conc")
}

// TestLibcniStatusGC: STATUS through libcni follows the state file; GC
// through libcni removes the stale attachment and keeps the valid one.
func TestLibcniStatusGC(t *testing.T) {
	env := newEnv(t)
	list := chainList(t, "1.1.0", "stgc", env.DataDir, families["dual"])
	var stateDir string
	_ = json.Unmarshal(list.Plugins[0].Bytes, &struct {
		StateDir *string `json:"stateDir"`
	}{&stateDir})
	ctx := context.Background()
	if err := env.Status(ctx, list); err == nil {
		t.Error("STATUS without a state file succeeded")
	} else {
		t.Logf("STATUS: %v", err)
	}
	writeState(t, stateDir, &statePodCIDRs)
	if err := env.Status(ctx, list); err != nil {
		t.Errorf("STATUS with a ready state file: %v", err)
	}

	keep, drop := chainRuntime("ctr-keep", newNS(t)), chainRuntime("ctr-drop", newNS(t))
	for _, rt := range []*libcni.RuntimeConf{keep, drop} {
		if _, err := env.Add(ctx, list, rt); err != nil {
			t.Fatalf("ADD: %v", err)
		}
	}
	if err := env.GC(ctx, list, []types.GCAttachment{{ContainerID: "ctr-keep", IfName: "eth0"}}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if files := ipamFiles(t, env.DataDir, "stgc"); len(files) != 2 {
		t.Errorf("IPAM records after GC: %v, want ctr-keep's 2", files)
	}
	if err := env.Check(ctx, list, keep); err != nil {
		t.Errorf("CHECK of the kept pod after GC: %v", err)
	}
	if err := env.Del(ctx, list, keep); err != nil {
		t.Fatal(err)
	}
	if err := env.Del(ctx, list, drop); err != nil {
		t.Fatal(err)
	}
	assertClean(t, env.HostNS, env.DataDir, "stgc")
}
