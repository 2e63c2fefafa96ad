package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/state"
	"github.com/offload-overlay/offload-overlay/pkg/version"
)

// NodeAPI is the part of the Nodes API the agent calls: list and watch
// (the informer), patch and patch status (of our own Node only). Both
// coreapi.Nodes (the binary's client, core/v1 only) and client-go's typed
// NodeInterface satisfy it.
type NodeAPI interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.NodeList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*corev1.Node, error)
	PatchStatus(ctx context.Context, nodeName string, data []byte) (*corev1.Node, error)
}

// Deps are the agent's collaborators, built by the caller (run.go in
// production, the tests with a real API server and a netns kernel).
// Kernel and BGP link netlink (the Linux datapath, gobgp): the binary
// builds them, so this package does not (a `make lint` guard).
type Deps struct {
	Nodes    NodeAPI
	Events   record.EventSink // coreapi.Events, or client-go's EventSinkImpl
	Kernel   datapath.Kernel  // datapath/linux.New
	BGP      NewSpeaker       // pkg/bgp's Manager (bgp.go)
	Decide   DecideFunc
	Registry *prometheus.Registry // nil: a private registry
	Log      *slog.Logger
}

// Agent is the node agent's control loop.
type Agent struct {
	cfg     *config.Config
	nodes   NodeAPI
	events  record.EventSink
	kernel  datapath.Kernel
	decide  DecideFunc
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *Metrics

	queue     workqueue.TypedRateLimitingInterface[string]
	lister    corelisters.NodeLister
	recorder  record.EventRecorder
	broadcast record.EventBroadcaster
	nodeRef   *corev1.ObjectReference

	// Owned by the worker goroutine (one sync at a time); the cache
	// layers are described in caches.go.
	local    datapath.LocalNode
	up       datapath.Uplink
	setup    datapath.NodeSetup
	facts    nodeinfo.Facts
	factsGen int // changes whenever our own facts (verdict, encaps, MTU) do
	parsed   *admission.Cache
	underlay underlayView
	// views collects, during computePaths, this node's view of every peer
	// (its Egresses and PeerEgress), published with the facts.
	views     nodeinfo.Facts
	decisions decisionCache
	applied   appliedPaths
	failures  pathFailures // paths the kernel refused, retried with backoff
	last      reported
	released  bool // releaseStartupMemory ran
	// BGP (bgp.go): the speaker, its last status, the peers that announce.
	bgp          Speaker
	bgpStatus    bgptypes.Status
	bgpPeers     map[string]bool
	bgpConfigErr string
	// bgpAnnouncing is the published "bgp" fact; bgpSeedUntil keeps our
	// previous instance's true through a graceful restart (seedBGP).
	bgpAnnouncing bool
	bgpSeedUntil  time.Time
	// bgpLearnt are the learnt routes as the import rules split them at
	// the last sync (bgpimport.go).
	bgpLearnt learntRoutes

	// Shared with the probe goroutine and the HTTP server.
	probes     probeBook
	ready      atomic.Bool
	reprobe    atomic.Bool
	lastSyncAt atomic.Int64
	// bgpSessions is each BGP session's last state (gobgp's goroutine).
	bgpSessions sessionBook
	startedAt   time.Time // New's time: the start-up window of /healthz
}

// Keys on the work queue: a node change asks for an incremental sync;
// the resync timer asks for a full one. The queue coalesces bursts.
const (
	keySync   = "sync"
	keyResync = "resync"
)

// New builds an agent; Run starts it.
func New(cfg *config.Config, d Deps) (*Agent, error) {
	if d.Nodes == nil || d.Events == nil || d.Kernel == nil || d.BGP == nil || d.Decide == nil {
		return nil, errors.New("agent: Nodes, Events, Kernel, BGP and Decide are required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	a := &Agent{
		cfg: cfg, nodes: d.Nodes, events: d.Events, kernel: d.Kernel, decide: d.Decide, log: d.Log.With("node", cfg.NodeName),
		reg: d.Registry, metrics: NewMetrics(d.Registry),
		applied: appliedPaths{}, parsed: admission.NewCache(),
		last:      reported{unreachable: map[string]string{}, ignored: map[string]string{}},
		probes:    probeBook{ok: map[string]bool{}, kick: make(chan struct{}, 1)},
		nodeRef:   &corev1.ObjectReference{Kind: "Node", Name: cfg.NodeName, UID: types.UID(cfg.NodeName)},
		startedAt: time.Now(), failures: pathFailures{},
	}
	var collector prometheus.Collector
	a.bgp, collector = d.BGP(a.log, a.onBGPSession, a.onBGPLearnt)
	if collector != nil {
		a.reg.MustRegister(collector)
	}
	return a, nil
}

// Run blocks until ctx is cancelled. On return the datapath and the state
// file are left in place: a restarting agent (an upgrade) must not break
// established pod connections or make the CNI plugin refuse new pods.
func (a *Agent) Run(ctx context.Context) error {
	if s, err := state.Read(a.cfg.StateDir); err != nil || !s.Ready || s.Node != a.cfg.NodeName {
		a.writeNotReady("agent starting")
	} // else a restart: the datapath the state describes is still in place; keep pods coming
	a.startEvents()
	defer a.broadcast.Shutdown()

	informer := a.nodeInformer()
	a.lister = corelisters.NewNodeLister(informer.GetIndexer())
	a.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "offload-overlay-nodes"})
	defer a.queue.ShutDown()
	if err := informer.SetTransform(trimNode); err != nil {
		return fmt.Errorf("setting node transform: %w", err)
	}
	if _, err := informer.AddEventHandler(a.handlers()); err != nil {
		return fmt.Errorf("registering node event handler: %w", err)
	}
	informerCtx, stopInformer := context.WithCancel(ctx)
	var informerDone sync.WaitGroup
	informerDone.Add(1)
	go func() { defer informerDone.Done(); informer.RunWithContext(informerCtx) }()
	defer informerDone.Wait()
	defer stopInformer()
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("waiting for the node informer: %w", ctx.Err())
	}
	if err := a.waitForLocal(ctx); err != nil {
		return err
	}
	if err := a.initNode(ctx); err != nil {
		return err
	}
	if err := a.kernel.WatchRoutes(ctx, a.routesChanged); err != nil {
		a.log.Warn("no route monitor: underlay changes are seen at the next resync", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.worker(ctx) }()
	go func() { defer wg.Done(); a.probeLoop(ctx) }()
	a.queue.Add(keyResync)
	a.timers(ctx)
	a.queue.ShutDown()
	wg.Wait()
	if err := a.bgp.Shutdown(context.Background()); err != nil {
		a.log.Warn("stopping BGP", "err", err)
	}
	a.log.Info("agent stopped; datapath left in place")
	return nil
}

// routeSettle lets a burst of underlay route changes (an interface
// flapping, a routing daemon reloading) end before the agent re-reads.
const routeSettle = time.Second

// routesChanged runs on the route monitor's goroutine: it asks for a full
// converge (fresh route lookups, kernel re-read) and a new probe round.
func (a *Agent) routesChanged() {
	a.reprobe.Store(true)
	a.queue.AddAfter(keyResync, routeSettle)
}

// Ready reports whether the first full converge has completed.
func (a *Agent) Ready() bool { return a.ready.Load() }

// nodeInformer caches every Node (trimmed, see trimNode), the informer
// client-go's factory would build, over the agent's own Nodes client.
// Equivalent to: kubectl get nodes --watch
func (a *Agent) nodeInformer() cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return a.nodes.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return a.nodes.Watch(ctx, opts)
		},
	}
	return cache.NewSharedIndexInformerWithOptions(lw, &corev1.Node{}, cache.SharedIndexInformerOptions{
		ObjectDescription: "nodes",
	})
}

// startEvents starts the recorder of Events on our Node. Its scheme is
// core/v1 alone (the recorder only needs it to name objects; the agent
// names its Node by an ObjectReference).
func (a *Agent) startEvents() {
	a.broadcast = record.NewBroadcaster()
	a.broadcast.StartRecordingToSink(a.events)
	a.recorder = a.broadcast.NewRecorder(coreapi.Scheme, corev1.EventSource{Component: "offload-overlay-agent", Host: a.cfg.NodeName})
}

// timers enqueues the periodic resync until ctx ends.
func (a *Agent) timers(ctx context.Context) {
	t := time.NewTicker(a.cfg.ResyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.queue.Add(keyResync)
		}
	}
}

func (a *Agent) worker(ctx context.Context) {
	for {
		key, quit := a.queue.Get()
		if quit {
			return
		}
		err := a.sync(ctx, key == keyResync)
		if err != nil {
			a.metrics.Errors.WithLabelValues("sync").Inc()
			a.log.Error("converge failed; retrying", "err", err)
			a.queue.AddRateLimited(keyResync)
		} else {
			a.queue.Forget(key)
			if key == keyResync {
				a.releaseStartupMemory()
			}
		}
		a.queue.Done(key)
	}
}

// handlers enqueue a sync for node changes that matter to the datapath:
// annotation, pod CIDRs, addresses, deletion. Heartbeat status updates
// (every node, every few seconds) are dropped here.
func (a *Agent) handlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { a.queue.Add(keySync) },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Node)
			n, ok2 := newObj.(*corev1.Node)
			if !ok1 || !ok2 || relevantChange(o, n) || (n.Name == a.cfg.NodeName && !a.conditionMatches(n)) {
				a.queue.Add(keySync)
			}
		},
		DeleteFunc: func(any) { a.queue.Add(keySync) },
	}
}

// trimNode keeps only what the agent reads from a Node (name, creation
// time, our annotation, pod CIDRs, addresses, conditions) in the informer
// cache: real Nodes carry image lists and managed fields of tens of KB each,
// which would dominate the agent's memory in a large cluster.
func trimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil // a tombstone: passed through
	}
	t := &corev1.Node{TypeMeta: n.TypeMeta}
	t.Name, t.UID, t.ResourceVersion, t.CreationTimestamp = n.Name, n.UID, n.ResourceVersion, n.CreationTimestamp
	if v, ok := n.Annotations[nodeinfo.AnnotationKey]; ok {
		t.Annotations = map[string]string{nodeinfo.AnnotationKey: v}
	}
	keepBGPKeys(n, t)
	t.Spec.PodCIDR, t.Spec.PodCIDRs = n.Spec.PodCIDR, n.Spec.PodCIDRs
	t.Status.Addresses, t.Status.Conditions = n.Status.Addresses, n.Status.Conditions
	return t, nil
}

func relevantChange(o, n *corev1.Node) bool {
	if o.Annotations[nodeinfo.AnnotationKey] != n.Annotations[nodeinfo.AnnotationKey] ||
		o.Spec.PodCIDR != n.Spec.PodCIDR || len(o.Spec.PodCIDRs) != len(n.Spec.PodCIDRs) ||
		len(o.Status.Addresses) != len(n.Status.Addresses) || bgpKeysChanged(o, n) {
		return true
	}
	for i := range o.Spec.PodCIDRs {
		if o.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i] {
			return true
		}
	}
	for i := range o.Status.Addresses {
		if o.Status.Addresses[i] != n.Status.Addresses[i] {
			return true
		}
	}
	return false
}

func (a *Agent) conditionMatches(n *corev1.Node) bool {
	if !a.ready.Load() {
		return true
	}
	c := networkCondition(n)
	return c != nil && c.Status == corev1.ConditionFalse && c.Reason == ConditionReason
}

// waitForLocal waits until our Node exists with pod CIDRs and a node IP,
// keeping the state file not-ready with the reason meanwhile.
func (a *Agent) waitForLocal(ctx context.Context) error {
	for {
		n, err := a.lister.Get(a.cfg.NodeName)
		var local datapath.LocalNode
		if err == nil {
			local, err = localNodeFrom(n, a.cfg.NodeIPs)
		}
		if err == nil {
			a.local = local
			a.seedProbes(n)
			return nil
		}
		reason := fmt.Sprintf("waiting for node %s: %v", a.cfg.NodeName, err)
		a.writeNotReady(reason)
		a.log.Info("waiting for own node", "reason", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// seedProbes starts from the probe results our previous instance
// published, so a restarted agent decides every pair exactly as before
// (no native -> VXLAN -> native flap while the first probes run); the
// probe loop re-checks them at once.
func (a *Agent) seedProbes(n *corev1.Node) {
	raw, ok := n.Annotations[nodeinfo.AnnotationKey]
	if !ok {
		return
	}
	var prev nodeinfo.Facts
	if err := json.Unmarshal([]byte(raw), &prev); err != nil || prev.Version != nodeinfo.FactsVersion {
		return
	}
	a.probes.mu.Lock()
	defer a.probes.mu.Unlock()
	for peer, ok := range prev.NativeProbe {
		a.probes.ok[peer] = ok
	}
	a.seedBGP(prev.BGP)
}

// initNode inspects the uplink and tunnel support, creates the tunnel
// devices, probe addresses and masquerade rules, and publishes our facts.
func (a *Agent) initNode(ctx context.Context) error {
	if err := clusterCIDRPerFamily(a.local.PodCIDRs, a.cfg.ClusterCIDRs); err != nil {
		return a.fatal("checking --cluster-cidr", err)
	}
	up, err := a.kernel.InspectUplink(a.local)
	if err != nil {
		return a.fatal("inspecting uplink", err)
	}
	encaps, err := a.kernel.Encaps()
	if err != nil {
		return a.fatal("probing tunnel kinds", err)
	}
	setup, err := a.kernel.EnsureNode(a.local, up)
	if err != nil {
		return a.fatal("creating tunnel devices", err)
	}
	if err := a.kernel.EnsureMasquerade(a.local.PodCIDRs, a.cfg.ClusterCIDRs); err != nil {
		return a.fatal("installing masquerade rules", err)
	}
	a.up, a.setup = up, setup
	a.factsGen++
	a.facts = nodeinfo.Facts{Version: nodeinfo.FactsVersion, AgentVersion: version.Version,
		Verdict: up.Verdict, Encaps: encaps, UplinkMTU: up.MTU, BGP: a.bgpAnnouncing}
	for _, ip := range a.local.IPs {
		ep := nodeinfo.Endpoint{IP: ip.String()}
		if mac := setup.VTEPMACs[netaddr.Index(ip)]; mac != nil {
			ep.VTEPMAC = mac.String()
		}
		a.facts.Endpoints = append(a.facts.Endpoints, ep)
	}
	a.log.Info("node initialised", "uplink", up.Name, "mtu", up.MTU, "encaps", encaps,
		"tunnelSegmentation", up.Verdict.TunnelSegmentation, "underlayTunnel", up.Verdict.UnderlayTunnel,
		"ips", a.local.IPs, "podCIDRs", a.local.PodCIDRs)
	return a.publish(ctx)
}

func (a *Agent) fatal(what string, err error) error {
	a.metrics.Errors.WithLabelValues("init").Inc()
	a.writeNotReady(fmt.Sprintf("%s: %v", what, err))
	return fmt.Errorf("%s: %w", what, err)
}

// clusterCIDRPerFamily refuses a node whose pod CIDR has a family no
// --cluster-cidr covers: without it, pod-to-pod traffic of that family
// cannot be told from egress (no masquerade), and peer admission cannot
// refuse a node IP inside the pod network, so one hostile peer could
// knock honest ones out (admission blames such claimants anyway).
func clusterCIDRPerFamily(podCIDRs, clusterCIDRs []netip.Prefix) error {
	for _, p := range podCIDRs {
		covered := false
		for _, c := range clusterCIDRs {
			if c.Addr().Is6() == p.Addr().Is6() {
				covered = true
			}
		}
		if !covered {
			fam := "IPv4"
			if p.Addr().Is6() {
				fam = "IPv6"
			}
			return fmt.Errorf("this node's pod CIDR %s is %s but --cluster-cidr (%s) has no %s prefix: set it to the cluster's pod CIDR of every family (kube-controller-manager --cluster-cidr)",
				p, fam, "OFFLOAD_OVERLAY_CLUSTER_CIDR", fam)
		}
	}
	return nil
}
