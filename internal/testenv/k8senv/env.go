package k8senv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Token is one line of the API server's static token file.
type Token struct {
	Token  string
	User   string
	UID    string
	Groups []string
}

// Options configures Start. The zero value is a usable default: API server on
// 127.0.0.1, Node,RBAC authorization, services 10.96.0.0/24.
type Options struct {
	// ListenAddress is the IP the API server binds to and advertises (default
	// 127.0.0.1). Use a bridge address to reach it from node namespaces.
	ListenAddress string
	// Port is the API server's secure port (default: a free random port).
	Port int
	// AuthorizationMode is passed to --authorization-mode: "Node,RBAC"
	// (default) or "AlwaysAllow".
	AuthorizationMode string
	// ServiceClusterIPRange (default 10.96.0.0/24; the API server's Service is
	// its first address, 10.96.0.1).
	ServiceClusterIPRange string
	// Tokens are extra identities accepted by the API server (for example
	// system:node:<name> in group system:nodes for kubelets).
	Tokens []Token
	// ExtraArgs are appended to the kube-apiserver command line.
	ExtraArgs []string
	// Dir holds certificates, logs and kubeconfigs (default: t.TempDir()).
	Dir string
}

// Env is a running control plane.
type Env struct {
	// Config is an admin (system:masters) client config.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file for kubectl.
	Kubeconfig string
	// URL is https://<address>:<port> of the API server.
	URL string
	// Address and Port the API server listens on.
	Address string
	Port    int
	// AdminToken authenticates as user "admin" in group system:masters.
	AdminToken string
	// Dir holds everything this Env wrote; CACertFile is the API server's
	// serving certificate bundle (self-signed cert + its CA), SAKeyFile and
	// SAPubFile the service-account signing keys.
	Dir        string
	CACertFile string
	SAKeyFile  string
	SAPubFile  string
	// ServiceClusterIPRange as passed to the API server.
	ServiceClusterIPRange string

	t         testing.TB
	etcd      *Process
	apiserver *Process
	etcdData  string
	etcdURL   string
	extra     []*Process
	stopped   bool
}

// Start runs etcd and kube-apiserver, waits for /readyz and registers Stop
// with t.Cleanup. It skips or fails the test (see RequireBinaries) when the
// binaries are missing.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	RequireBinaries(t, "kube-apiserver")
	e, err := start(t, opts)
	if err != nil {
		t.Fatalf("starting control plane: %v", err)
	}
	return e
}

func start(t testing.TB, opts Options) (*Env, error) {
	if opts.ListenAddress == "" {
		opts.ListenAddress = "127.0.0.1"
	}
	if opts.AuthorizationMode == "" {
		opts.AuthorizationMode = "Node,RBAC"
	}
	if opts.ServiceClusterIPRange == "" {
		opts.ServiceClusterIPRange = "10.96.0.0/24"
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	e := &Env{
		t: t, Dir: opts.Dir, Address: opts.ListenAddress, AdminToken: randomHex(16),
		ServiceClusterIPRange: opts.ServiceClusterIPRange,
		CACertFile:            filepath.Join(opts.Dir, "certs", "apiserver.crt"),
		SAKeyFile:             filepath.Join(opts.Dir, "sa.key"),
		SAPubFile:             filepath.Join(opts.Dir, "sa.pub"),
	}
	t.Cleanup(e.Stop)
	if err := writeServiceAccountKeys(e.SAKeyFile, e.SAPubFile); err != nil {
		return nil, err
	}
	tokens := filepath.Join(opts.Dir, "tokens.csv")
	all := append([]Token{{Token: e.AdminToken, User: "admin", UID: "admin", Groups: []string{"system:masters"}}}, opts.Tokens...)
	if err := writeTokens(tokens, all); err != nil {
		return nil, err
	}
	if err := e.startEtcd(); err != nil {
		return nil, err
	}
	e.Port = opts.Port
	if e.Port == 0 {
		p, err := freePort(opts.ListenAddress)
		if err != nil {
			return nil, err
		}
		e.Port = p
	}
	e.URL = "https://" + net.JoinHostPort(e.Address, strconv.Itoa(e.Port))
	args := []string{
		"--etcd-servers=" + e.etcdURL,
		"--bind-address=" + e.Address, "--advertise-address=" + e.Address,
		"--secure-port=" + strconv.Itoa(e.Port), "--cert-dir=" + filepath.Join(e.Dir, "certs"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + e.SAPubFile, "--service-account-signing-key-file=" + e.SAKeyFile,
		"--token-auth-file=" + tokens, "--authorization-mode=" + opts.AuthorizationMode,
		"--allow-privileged=true", "--kubelet-preferred-address-types=InternalIP,Hostname",
		"--service-cluster-ip-range=" + opts.ServiceClusterIPRange,
		"--endpoint-reconciler-type=lease",
	}
	if strings.Contains(opts.AuthorizationMode, "Node") {
		args = append(args, "--enable-admission-plugins=NodeRestriction")
	}
	args = append(args, opts.ExtraArgs...)
	start := time.Now()
	p, err := StartProcess("kube-apiserver", Bin("kube-apiserver"), args, filepath.Join(e.Dir, "kube-apiserver.log"), nil)
	if err != nil {
		return nil, err
	}
	e.apiserver = p
	if err := e.waitReady(60 * time.Second); err != nil {
		return nil, fmt.Errorf("%w\n--- kube-apiserver log tail:\n%s", err, p.Tail(30))
	}
	t.Logf("k8senv: kube-apiserver %s ready in %.1fs (authorization %s, dir %s)", e.URL, time.Since(start).Seconds(), opts.AuthorizationMode, e.Dir)
	e.Config = &rest.Config{
		Host: e.URL, BearerToken: e.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: e.CACertFile},
		QPS:             100, Burst: 200,
	}
	e.Kubeconfig = filepath.Join(e.Dir, "admin.kubeconfig")
	if err := WriteKubeconfig(e.Kubeconfig, e.URL, e.CACertFile, e.AdminToken); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) startEtcd() error {
	data, err := os.MkdirTemp(shmOr(e.Dir), "ooc-etcd-")
	if err != nil {
		return fmt.Errorf("creating etcd data dir: %w", err)
	}
	e.etcdData = data
	client, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	peer, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	cu := fmt.Sprintf("http://127.0.0.1:%d", client)
	pu := fmt.Sprintf("http://127.0.0.1:%d", peer)
	args := []string{
		"--name=k8senv", "--data-dir=" + data,
		"--listen-client-urls=" + cu, "--advertise-client-urls=" + cu,
		"--listen-peer-urls=" + pu, "--initial-advertise-peer-urls=" + pu,
		"--initial-cluster=k8senv=" + pu, "--log-level=warn", "--logger=zap",
	}
	p, err := StartProcess("etcd", "etcd", args, filepath.Join(e.Dir, "etcd.log"), nil)
	if err != nil {
		return err
	}
	e.etcd, e.etcdURL = p, cu
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(cu + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if done, werr := p.Exited(); done {
			return fmt.Errorf("etcd exited: %v\n%s", werr, p.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("etcd not healthy after 20s:\n%s", p.Tail(20))
}

func (e *Env) waitReady(timeout time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// The serving certificate does not exist before the API server
		// writes it; readiness only needs a TCP+TLS answer.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test readiness probe
	}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+e.AdminToken)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if done, werr := e.apiserver.Exited(); done {
			return fmt.Errorf("kube-apiserver exited: %v", werr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s (last: %s)", timeout, last)
}

// Stop stops every daemon of this Env, the API server before etcd (SIGKILL
// after 3 s), and removes etcd's data. Idempotent; registered with t.Cleanup.
func (e *Env) Stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	for i := len(e.extra) - 1; i >= 0; i-- {
		e.extra[i].Stop(3 * time.Second)
	}
	if e.t.Failed() && e.apiserver != nil {
		e.t.Logf("k8senv: kube-apiserver log tail:\n%s", e.apiserver.Tail(20))
	}
	e.apiserver.Stop(3 * time.Second)
	e.etcd.Stop(3 * time.Second)
	if e.etcdData != "" {
		os.RemoveAll(e.etcdData)
	}
}

// WriteKubeconfig writes a kubeconfig for server authenticating with token,
// verifying the server against caFile.
func WriteKubeconfig(path, server, caFile, token string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: k8senv
  cluster: {server: %q, certificate-authority: %q}
users:
- name: u
  user: {token: %q}
contexts:
- name: k8senv
  context: {cluster: k8senv, user: u}
current-context: k8senv
`, server, caFile, token)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

func writeServiceAccountKeys(keyPath, pubPath string) error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generating service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return fmt.Errorf("marshalling service-account public key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", keyPath, err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", pubPath, err)
	}
	return nil
}

func writeTokens(path string, tokens []Token) error {
	var b strings.Builder
	for _, t := range tokens {
		fmt.Fprintf(&b, "%s,%s,%s", t.Token, t.User, t.UID)
		if len(t.Groups) > 0 {
			fmt.Fprintf(&b, ",%q", strings.Join(t.Groups, ","))
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing token file: %w", err)
	}
	return nil
}

// freePort asks the kernel for a free TCP port on ip.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shmOr returns /dev/shm when it is writable (etcd fsyncs a lot; tmpfs makes
// that free), else dir.
func shmOr(dir string) string {
	if f, err := os.CreateTemp("/dev/shm", "ooc-probe-"); err == nil {
		f.Close()
		os.Remove(f.Name())
		return "/dev/shm"
	}
	return dir
}

// RandomToken returns a random bearer token.
func RandomToken() string { return randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
