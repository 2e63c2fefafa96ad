package cluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Pod is what the checks need of a pod.
type Pod struct {
	Name, IP, Node string
	IPs            []string // every family (dual-stack: IPv4 then IPv6)
}

// IPOfFamily returns the pod's address of the same family as like.
func (p Pod) IPOfFamily(like string) string {
	for _, ip := range p.IPs {
		if strings.Contains(ip, ":") == strings.Contains(like, ":") {
			return ip
		}
	}
	return ""
}

// WebManifest is one test server per node (topology spread), and a ClusterIP
// Service in front of them.
func WebManifest(replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: %s
        imagePullPolicy: Never
        args: [serve]
        env: [{name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
        ports: [{containerPort: 8080}, {containerPort: 9000}, {containerPort: 9001, protocol: UDP}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: echo, port: 9000, targetPort: 9000}
  - {name: udp, port: 9001, targetPort: 9001, protocol: UDP}
`, replicas, TestImage)
}

// podManifest is a single pod pinned to a node.
func podManifest(name, node string, args []string, hostPort int) string {
	a, _ := json.Marshal(args)
	ports := ""
	if hostPort != 0 {
		ports = fmt.Sprintf("\n    ports: [{containerPort: 8080, hostPort: %d}]", hostPort)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: default, labels: {e2e: single}}
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %s
    imagePullPolicy: Never
    args: %s
    env: [{name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]%s
`, name, node, TestImage, a, ports)
}

// Apply pipes a manifest into kubectl apply.
func (c *Cluster) Apply(manifest string) error {
	return c.kubectlStdin(manifest, "apply", "-f", "-")
}

// Pods lists the pods matching a label selector in the default namespace.
func (c *Cluster) Pods(selector string) ([]Pod, error) {
	out, err := c.Kubectl("get", "pods", "-l", selector, "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIPs[*].ip}{"\n"}{end}`)
	if err != nil {
		return nil, err
	}
	var pods []Pod
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 {
			pods = append(pods, Pod{Name: f[0], Node: f[1], IP: f[2], IPs: f[2:]})
		}
	}
	return pods, nil
}

// Probe runs testimg probe in pod with targets; it returns one line per
// target ("OK target detail" / "FAIL target error").
func (c *Cluster) Probe(pod string, targets ...string) ([]string, error) {
	out, err := c.Kubectl(append([]string{"exec", pod, "--", "/testimg", "probe"}, targets...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines, err
}

// WaitPodsReady waits until the pods matching selector are Ready.
func (c *Cluster) WaitPodsReady(selector string, timeout time.Duration) error {
	_, err := c.Kubectl("wait", "--for=condition=Ready", "pod", "-l", selector, fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
	return err
}
