package cluster

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
)

// ConformanceFocus selects the upstream sig-network conformance specs (45 in
// v1.34).
const ConformanceFocus = `\[sig-network\].*\[Conformance\]`

// ConformanceBins are the files e2e/k8s/build-conformance.sh builds.
type ConformanceBins struct {
	Dir string // e2e.test, ginkgo, agnhost, coredns
	// AgnhostSrc is test/images/agnhost in the module cache (porter's TLS
	// key pair, which the image carries at /).
	AgnhostSrc string
}

// DefaultConformanceBins is where e2e/k8s/build-conformance.sh puts them:
// $CONFORMANCE_DIR, else ~/.cache/offload-overlay/conformance-v1.34.4.
func DefaultConformanceBins() ConformanceBins {
	dir := os.Getenv("CONFORMANCE_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "/root"
		}
		dir = filepath.Join(home, ".cache", "offload-overlay", "conformance-"+k8senv.K8sVersion)
	}
	gomodcache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	src := filepath.Join(strings.TrimSpace(string(gomodcache)), "k8s.io", "kubernetes@"+k8senv.K8sVersion, "test", "images", "agnhost")
	return ConformanceBins{Dir: dir, AgnhostSrc: src}
}

// Check says what is missing.
func (b ConformanceBins) Check() error {
	for _, f := range []string{"e2e.test", "ginkgo", "agnhost", "coredns"} {
		if _, err := os.Stat(filepath.Join(b.Dir, f)); err != nil {
			return fmt.Errorf("conformance binaries not built: run make conformance-bins (%s missing in %s)", f, b.Dir)
		}
	}
	if _, err := os.Stat(filepath.Join(b.AgnhostSrc, "porter", "localhost.crt")); err != nil {
		return fmt.Errorf("agnhost sources not in the module cache (make conformance-bins downloads them): %w", err)
	}
	return nil
}

// RouteHostToPods lets the host, where the control plane runs, reach every
// pod: the upstream specs proxy to pods and Services through the API server
// (`/api/v1/namespaces/x/pods/y/proxy`), which dials pod addresses. In a
// kubeadm cluster the API server runs on a node of the overlay; here it runs
// outside, so the host routes the cluster CIDR to the underlay's router,
// which routes each pod CIDR to its node for traffic from the host link only
// (a separate table): the nodes still see the underlay their spec describes,
// so the agents' native/VXLAN decisions are unchanged. Equivalent to:
//
//	ip route replace $clusterCIDR via $routerHostIP dev ooc-host
//	ip -n ooc-rt route replace $podCIDR via $nodeIP table 101   # per node
//	ip -n ooc-rt rule add iif host0 lookup 101
func (c *Cluster) RouteHostToPods() error {
	const table = "101"
	rt := c.Topo.Router
	out, err := runOut("ip", "-n", rt, "-4", "-o", "addr", "show", "dev", "host0")
	if err != nil {
		return fmt.Errorf("router host link: %w: %s", err, out)
	}
	m := regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`).FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("router host link has no IPv4 address: %s", out)
	}
	for _, n := range c.Nodes {
		node, err := c.Client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cidr := range node.Spec.PodCIDRs {
			if strings.Contains(cidr, ":") {
				continue
			}
			if out, err := runOut("ip", "-n", rt, "route", "replace", cidr, "via", n.IP, "table", table); err != nil {
				return fmt.Errorf("router route %s via %s: %w: %s", cidr, n.IP, err, out)
			}
		}
	}
	if rules, _ := runOut("ip", "-n", rt, "rule", "show", "iif", "host0"); !strings.Contains(rules, "lookup "+table) {
		if out, err := runOut("ip", "-n", rt, "rule", "add", "iif", "host0", "lookup", table, "pref", "90"); err != nil {
			return fmt.Errorf("router rule: %w: %s", err, out)
		}
	}
	cidr := strings.Split(c.opts.ClusterCIDR, ",")[0]
	if out, err := runOut("ip", "route", "replace", cidr, "via", m[1], "dev", c.Topo.HostLink); err != nil {
		return fmt.Errorf("host route %s: %w: %s", cidr, err, out)
	}
	return nil
}

// ConformanceRun is one e2e.test run's outcome.
type ConformanceRun struct {
	Passed, Failed, Skipped int
	Failures                []string // "spec name: message"
	JUnit                   string   // the report e2e.test wrote
	Log                     string   // its output
	Took                    time.Duration
}

// Summary is the line the Makefile target prints.
func (r ConformanceRun) Summary() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", r.Passed, r.Failed, r.Skipped)
}

// RunConformance runs the upstream e2e.test against the cluster with a
// ginkgo focus, as admin, and reads its JUnit report. Only the specs the
// focus selects are counted (the report lists the others as skipped too).
// procs > 1 runs the specs in that many parallel processes through the
// ginkgo CLI (the specs are not [Serial]: upstream CI runs them in parallel).
func (c *Cluster) RunConformance(b ConformanceBins, focus string, procs int, timeout time.Duration) (ConformanceRun, error) {
	dir := filepath.Join(c.Dir, "conformance")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ConformanceRun{}, err
	}
	r := ConformanceRun{JUnit: filepath.Join(dir, "junit_01.xml"), Log: filepath.Join(dir, "e2e.log")}
	logf, err := os.Create(r.Log)
	if err != nil {
		return r, err
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Minute)
	defer cancel()
	e2eFlags := []string{"--kubeconfig=" + c.Env.Kubeconfig, "--provider=skeleton", "--kubectl-path=" + k8senv.Bin("kubectl"),
		"--report-dir=" + dir, "--disable-log-dump", "--allowed-not-ready-nodes=0",
		"--dns-domain=cluster.local", "--node-os-distro=debian"}
	var cmd *exec.Cmd
	if procs > 1 {
		// ginkgo's CLI runs the binary in procs processes and merges
		// their reports (the framework writes the JUnit on process 1).
		args := []string{"--procs=" + strconv.Itoa(procs), "--focus=" + focus, "--no-color", "--timeout=" + timeout.String(),
			filepath.Join(b.Dir, "e2e.test"), "--"}
		cmd = exec.CommandContext(ctx, filepath.Join(b.Dir, "ginkgo"), append(args, e2eFlags...)...)
	} else {
		args := append([]string{"--ginkgo.focus=" + focus, "--ginkgo.no-color", "--ginkgo.timeout=" + timeout.String()}, e2eFlags...)
		cmd = exec.CommandContext(ctx, filepath.Join(b.Dir, "e2e.test"), args...)
	}
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	s := time.Now()
	runErr := cmd.Run()
	r.Took = time.Since(s)
	if err := r.readJUnit(regexp.MustCompile(focus)); err != nil {
		return r, fmt.Errorf("e2e.test (%v): %w (log %s)", runErr, err, r.Log)
	}
	return r, nil
}

type junitReport struct {
	Suites []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Status  string `xml:"status,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func (r *ConformanceRun) readJUnit(focus *regexp.Regexp) error {
	b, err := os.ReadFile(r.JUnit)
	if err != nil {
		return err
	}
	var rep junitReport
	if err := xml.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("parsing %s: %w", r.JUnit, err)
	}
	for _, s := range rep.Suites {
		for _, tc := range s.Cases {
			if !focus.MatchString(tc.Name) {
				if tc.Failure != nil { // a suite-level failure (BeforeSuite) fails everything
					r.Failed++
					r.Failures = append(r.Failures, tc.Name+": "+tc.Failure.Message)
				}
				continue
			}
			switch {
			case tc.Failure != nil || tc.Status == "failed" || tc.Status == "panicked" || tc.Status == "timedout":
				r.Failed++
				msg := tc.Status
				if tc.Failure != nil {
					msg = tc.Failure.Message
				}
				r.Failures = append(r.Failures, tc.Name+": "+msg)
			case tc.Skipped != nil || tc.Status == "skipped" || tc.Status == "pending":
				r.Skipped++
			default:
				r.Passed++
			}
		}
	}
	return nil
}

// KeepConformanceReport writes the JUnit report into dir (e2e/results) as
// conformance-<label>-<date>-k8s-<version>-<runtime>.xml and returns its
// path. Ginkgo lists every spec of the binary (7000+, 2.5 MB); the copy
// keeps the suite's own nodes and the specs focus selects, with the counts
// rewritten to match.
func KeepConformanceReport(r ConformanceRun, focus, label, dir, runtime string) (string, error) {
	b, err := os.ReadFile(r.JUnit)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("conformance-%s-%s-k8s-%s-%s.xml", label, time.Now().UTC().Format("20060102"), k8senv.K8sVersion, runtime)
	out := filepath.Join(dir, name)
	return out, os.WriteFile(out, trimJUnit(b, regexp.MustCompile(focus)), 0o644)
}

var (
	junitCase  = regexp.MustCompile(`(?s)\n\s*<testcase name="([^"]*)"[^>]*status="([a-z]+)"[^>]*>.*?</testcase>`)
	junitCount = regexp.MustCompile(`\b(tests|skipped|disabled)="\d+"`)
)

// trimJUnit drops the skipped test cases focus does not select.
func trimJUnit(b []byte, focus *regexp.Regexp) []byte {
	kept, skipped := 0, 0
	b = junitCase.ReplaceAllFunc(b, func(m []byte) []byte {
		sm := junitCase.FindSubmatch(m)
		if string(sm[2]) == "skipped" && !focus.Match(sm[1]) {
			return nil
		}
		kept++
		if string(sm[2]) == "skipped" {
			skipped++
		}
		return m
	})
	// <testsuites tests= disabled=> and <testsuite tests= skipped=>: ginkgo
	// counts the specs it did not run as disabled on the first, skipped on
	// the second
	return junitCount.ReplaceAllFunc(b, func(m []byte) []byte {
		k, v, _ := strings.Cut(string(m), "=")
		switch {
		case k == "tests":
			return []byte(fmt.Sprintf(`tests="%d"`, kept))
		case k == "skipped" || (k == "disabled" && v != `"0"`):
			return []byte(fmt.Sprintf(`%s="%d"`, k, skipped))
		}
		return m
	})
}
