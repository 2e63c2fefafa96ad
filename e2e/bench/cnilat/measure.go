package cnilat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/cnienv"
)

// Options configure Measure.
type Options struct {
	// Pods per case (>= 1; the issue asks for at least 100).
	Pods int
	// PluginBin is the offload-overlay binary; RefDir holds the reference
	// plugins (cnienv.RefDir()).
	PluginBin, RefDir string
	// WorkDir holds the per-case bin dirs, IPAM stores and caches.
	WorkDir string
	// Cases default to DefaultCases().
	Cases []Case
	// CNIVersion of the conflists, default 1.1.0.
	CNIVersion string
}

// Row is one case's figures.
type Row struct {
	Case                           string
	Add, Del                       []time.Duration
	AddP50, AddP90, DelP50, DelP90 time.Duration
	Size                           BinarySize
}

// Table is the result of one Measure run.
type Table struct {
	Pods int
	Rows []*Row
}

// Row returns the row of case name, nil if absent.
func (t *Table) Row(name string) *Row {
	for _, r := range t.Rows {
		if r.Case == name {
			return r
		}
	}
	return nil
}

type caseRun struct {
	c    Case
	env  *cnienv.Env
	list *libcni.NetworkConfigList
	pods []ns.NetNS
	row  *Row
}

// Measure adds Pods pods with every case, interleaved round by round, then
// deletes them the same way, and returns p50/p90 of each.
func Measure(ctx context.Context, o Options) (*Table, error) {
	if o.Pods < 1 {
		return nil, fmt.Errorf("pods: %d, want >= 1", o.Pods)
	}
	if o.Cases == nil {
		o.Cases = DefaultCases()
	}
	if o.CNIVersion == "" {
		o.CNIVersion = "1.1.0"
	}
	runs := make([]*caseRun, 0, len(o.Cases))
	defer func() {
		for _, r := range runs {
			r.close()
		}
	}()
	for i, c := range o.Cases {
		r, err := newCaseRun(o, i, c)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	for _, op := range []string{"ADD", "DEL"} {
		for i := range o.Pods {
			for k := range runs {
				r := runs[(i+k)%len(runs)] // rotate the order each round
				if err := r.step(ctx, op, i); err != nil {
					return nil, err
				}
			}
		}
	}
	t := &Table{Pods: o.Pods}
	for _, r := range runs {
		r.row.AddP50, r.row.AddP90 = percentile(r.row.Add, 50), percentile(r.row.Add, 90)
		r.row.DelP50, r.row.DelP90 = percentile(r.row.Del, 50), percentile(r.row.Del, 90)
		t.Rows = append(t.Rows, r.row)
	}
	return t, nil
}

func newCaseRun(o Options, i int, c Case) (*caseRun, error) {
	work := filepath.Join(o.WorkDir, fmt.Sprintf("case%d", i))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	env, err := cnienv.New(work, o.PluginBin, o.RefDir)
	if err != nil {
		return nil, err
	}
	r := &caseRun{c: c, env: env, row: &Row{Case: c.Name}}
	raw := fmt.Sprintf(`{"cniVersion":%q,"name":"bench%d","plugins":[%s]}`, o.CNIVersion, i, c.Conf(env.DataDir))
	if r.list, err = libcni.NetworkConfFromBytes([]byte(raw)); err != nil {
		r.close()
		return nil, fmt.Errorf("%s conflist: %w", c.Name, err)
	}
	if r.row.Size, err = SizeOf(filepath.Join(env.BinDir, c.Plugin)); err != nil {
		r.close()
		return nil, err
	}
	for range o.Pods {
		p, err := cnienv.NewPodNS()
		if err != nil {
			r.close()
			return nil, fmt.Errorf("creating pod netns: %w", err)
		}
		r.pods = append(r.pods, p)
	}
	return r, nil
}

// step runs op for pod i and records its latency.
func (r *caseRun) step(ctx context.Context, op string, i int) error {
	rt := cnienv.RuntimeConf(fmt.Sprintf("bench-%04d", i), r.pods[i])
	start := time.Now()
	var err error
	if op == "ADD" {
		_, err = r.env.Add(ctx, r.list, rt)
		r.row.Add = append(r.row.Add, time.Since(start))
	} else {
		err = r.env.Del(ctx, r.list, rt)
		r.row.Del = append(r.row.Del, time.Since(start))
	}
	if err != nil {
		return fmt.Errorf("%s %s pod %d: %w", r.c.Name, op, i, err)
	}
	return nil
}

func (r *caseRun) close() {
	for _, p := range r.pods {
		cnienv.ClosePodNS(p)
	}
	r.pods = nil
	r.env.Close()
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := (p*len(s)+99)/100 - 1
	return s[max(idx, 0)]
}
