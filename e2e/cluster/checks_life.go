package cluster

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CheckHostPort: a pod with hostPort 18080 on node n answers on the node's IP
// from the host and from another node (portmap DNAT).
func CheckHostPort(t *testing.T, c *Cluster, n, other *Node) {
	if err := c.Apply(podManifest("hp", n.Name, []string{"serve"}, 18080)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kubectl("wait", "--for=condition=Ready", "pod/hp", "--timeout=60s"); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s:18080/", n.IP)
	testimg := filepath.Join(c.Dir, "testimg")
	for _, from := range []struct {
		name string
		run  func() (string, error)
	}{
		{"host", func() (string, error) { return runOut(testimg, "probe", url) }},
		{other.Name, func() (string, error) { return other.Exec(testimg, "probe", url) }},
	} {
		out, err := from.run()
		if err != nil || !strings.HasPrefix(out, "OK") || !strings.Contains(out, n.Name) {
			t.Errorf("hostPort %s from %s: %v %s", url, from.name, err, out)
		} else {
			t.Logf("hostPort %s from %s: %s", url, from.name, strings.TrimSpace(out))
		}
	}
}

// Holder is a pod keeping one TCP connection open to an echo server on
// another node (testimg hold), for the restart checks.
type Holder struct {
	c    *Cluster
	name string
}

// StartHolder starts a holder pod on node from, connected to the echo
// server at target.
func (c *Cluster) StartHolder(name string, from *Node, target string) (*Holder, error) {
	if err := c.Apply(podManifest(name, from.Name, []string{"hold", target}, 0)); err != nil {
		return nil, err
	}
	if _, err := c.Kubectl("wait", "--for=condition=Ready", "pod/"+name, "--timeout=60s"); err != nil {
		return nil, err
	}
	h := &Holder{c: c, name: name}
	return h, waitFor(10*time.Second, func() error {
		ok, err := h.Status()
		if err == nil && ok == 0 {
			err = fmt.Errorf("no exchange yet")
		}
		return err
	})
}

// Status returns the number of lines echoed so far, or an error when the
// connection broke.
func (h *Holder) Status() (int, error) {
	out, err := h.c.Kubectl("exec", h.name, "--", "/testimg", "get", "http://127.0.0.1:8081/")
	if err != nil {
		return 0, err
	}
	var ok, broken int
	var rest string
	fmt.Sscanf(out, "ok %d broken %d %s", &ok, &broken, &rest)
	if broken != 0 {
		return ok, fmt.Errorf("connection broke after %d exchanges: %s", ok, strings.TrimSpace(out))
	}
	return ok, nil
}

// CheckStillHolding asserts the holder's connection carried on past before.
func CheckStillHolding(t *testing.T, h *Holder, before int, what string) int {
	var now int
	err := waitFor(10*time.Second, func() error {
		var err error
		now, err = h.Status()
		if err == nil && now <= before+5 {
			err = fmt.Errorf("only %d -> %d exchanges", before, now)
		}
		return err
	})
	if err != nil {
		t.Errorf("TCP connection across nodes after %s: %v", what, err)
	} else {
		t.Logf("TCP connection across nodes survived %s: %d -> %d exchanges", what, before, now)
	}
	return now
}
