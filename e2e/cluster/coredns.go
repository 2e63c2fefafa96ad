package cluster

import (
	"fmt"
	"time"
)

// ClusterDNSIP is the kube-dns Service's ClusterIP and the kubelets'
// clusterDNS when a cluster runs CoreDNS (ServiceCIDR's .10, as kubeadm).
const ClusterDNSIP = "10.96.0.10"

// coreDNSManifest is kubeadm's CoreDNS addon for v1.34 (ServiceAccount,
// RBAC, the Corefile, a Deployment and the kube-dns Service), with the image
// built from the CoreDNS module and a spread of one replica per node pair.
func coreDNSManifest(replicas int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success cluster.local
           disable denial cluster.local
        }
        loop
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: %d
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      tolerations: [{key: CriticalAddonsOnly, operator: Exists}]
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {k8s-app: kube-dns}}}
      containers:
      - name: coredns
        image: %s
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        volumeMounts: [{name: config-volume, mountPath: /etc/coredns, readOnly: true}]
        ports:
        - {containerPort: 53, name: dns, protocol: UDP}
        - {containerPort: 53, name: dns-tcp, protocol: TCP}
        - {containerPort: 9153, name: metrics, protocol: TCP}
        livenessProbe:
          httpGet: {path: /health, port: 8080}
          initialDelaySeconds: 60
          timeoutSeconds: 5
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
          readOnlyRootFilesystem: true
      dnsPolicy: Default
      volumes:
      - name: config-volume
        configMap: {name: coredns, items: [{key: Corefile, path: Corefile}]}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  selector: {k8s-app: kube-dns}
  clusterIP: %s
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: metrics, port: 9153, protocol: TCP}
`, replicas, CoreDNSImage, ClusterDNSIP)
}

// DeployCoreDNS applies the CoreDNS addon and waits until it answers (its
// pods Ready: the kubernetes plugin has synced with the API server).
func (c *Cluster) DeployCoreDNS(replicas int, timeout time.Duration) error {
	if err := c.Apply(coreDNSManifest(replicas)); err != nil {
		return err
	}
	_, err := c.Kubectl("-n", "kube-system", "rollout", "status", "deploy/coredns", fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
	if err != nil {
		out, _ := c.Kubectl("-n", "kube-system", "get", "pods", "-o", "wide")
		logs, _ := c.Kubectl("-n", "kube-system", "logs", "deploy/coredns", "--tail=20")
		return fmt.Errorf("%w\n%s\n%s", err, out, logs)
	}
	return nil
}
