package coreapi

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// Scheme knows core/v1 and the meta/v1 options types, nothing else. It is
// what an EventRecorder needs to name an object.
var Scheme = newScheme()

var (
	codecs         = serializer.NewCodecFactory(Scheme)
	parameterCodec = runtime.NewParameterCodec(Scheme)
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		panic(fmt.Sprintf("registering core/v1: %v", err)) // static type registration: a bug, not an input
	}
	// ListOptions, PatchOptions... as query parameters of the core group.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}

// Client calls the core/v1 API.
type Client struct {
	rest *rest.RESTClient
}

// Content types: protobuf for reads and watches (less decoding work than
// JSON for the node list and watch stream), JSON for writes (the agent
// builds its patches as JSON).
const (
	acceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	contentType        = runtime.ContentTypeJSON
)

// NewForConfig builds a core/v1 client from rc (which it does not modify),
// like client-go's typed CoreV1Client. Content types left empty in rc
// default to protobuf reads and JSON writes.
func NewForConfig(rc *rest.Config) (*Client, error) {
	c := rest.CopyConfig(rc)
	gv := corev1.SchemeGroupVersion
	c.GroupVersion = &gv
	c.APIPath = "/api"
	c.NegotiatedSerializer = codecs.WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if c.AcceptContentTypes == "" {
		c.AcceptContentTypes = acceptContentTypes
	}
	if c.ContentType == "" {
		c.ContentType = contentType
	}
	r, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("building core/v1 REST client for %s: %w", rc.Host, err)
	}
	return &Client{rest: r}, nil
}

// Nodes is the cluster-scoped Node resource.
func (c *Client) Nodes() *Nodes { return &Nodes{rest: c.rest} }

// Events is the Event resource, in each event's own namespace.
func (c *Client) Events() *Events { return &Events{rest: c.rest} }

func timeout(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}

// Nodes lists, watches and patches Nodes.
type Nodes struct {
	rest *rest.RESTClient
}

// List returns the Nodes matching opts.
// Equivalent to: kubectl get nodes -o json
func (n *Nodes) List(ctx context.Context, opts metav1.ListOptions) (*corev1.NodeList, error) {
	list := &corev1.NodeList{}
	err := n.rest.Get().Resource("nodes").VersionedParams(&opts, parameterCodec).
		Timeout(timeout(opts)).Do(ctx).Into(list)
	return list, err
}

// Watch streams Node changes from opts.ResourceVersion on.
// Equivalent to: kubectl get nodes --watch-only -o json
func (n *Nodes) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return n.rest.Get().Resource("nodes").VersionedParams(&opts, parameterCodec).
		Timeout(timeout(opts)).Watch(ctx)
}

// Get returns one Node.
// Equivalent to: kubectl get node $name -o json
func (n *Nodes) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error) {
	node := &corev1.Node{}
	err := n.rest.Get().Resource("nodes").Name(name).VersionedParams(&opts, parameterCodec).Do(ctx).Into(node)
	return node, err
}

// Patch applies data (of patch type pt) to the Node name, or to its
// subresource ("status").
// Equivalent to: kubectl patch node $name --type $pt -p $data [--subresource status]
func (n *Nodes) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*corev1.Node, error) {
	node := &corev1.Node{}
	err := n.rest.Patch(pt).Resource("nodes").Name(name).SubResource(subresources...).
		VersionedParams(&opts, parameterCodec).Body(data).Do(ctx).Into(node)
	return node, err
}

// PatchStatus applies a strategic merge patch to the Node's status.
// Equivalent to: kubectl patch node $name --subresource status -p $data
func (n *Nodes) PatchStatus(ctx context.Context, name string, data []byte) (*corev1.Node, error) {
	return n.Patch(ctx, name, types.StrategicMergePatchType, data, metav1.PatchOptions{}, "status")
}

// Events writes Events; it is a record.EventSink. Like client-go's
// EventSinkImpl it has no context: the recorder's goroutine calls it.
type Events struct {
	rest *rest.RESTClient
}

// Create posts ev in its namespace.
// Equivalent to: kubectl create -f event.json
func (e *Events) Create(ev *corev1.Event) (*corev1.Event, error) {
	out := &corev1.Event{}
	err := e.rest.Post().NamespaceIfScoped(ev.Namespace, ev.Namespace != "").Resource("events").
		Body(ev).Do(context.Background()).Into(out)
	return out, err
}

// Update replaces ev.
// Equivalent to: kubectl replace -f event.json
func (e *Events) Update(ev *corev1.Event) (*corev1.Event, error) {
	out := &corev1.Event{}
	err := e.rest.Put().NamespaceIfScoped(ev.Namespace, ev.Namespace != "").Resource("events").Name(ev.Name).
		Body(ev).Do(context.Background()).Into(out)
	return out, err
}

// Patch applies a strategic merge patch to the Event named by ev (the
// recorder's way of bumping the count of a repeated event).
// Equivalent to: kubectl patch event $name -n $ns -p $data
func (e *Events) Patch(ev *corev1.Event, data []byte) (*corev1.Event, error) {
	out := &corev1.Event{}
	err := e.rest.Patch(types.StrategicMergePatchType).NamespaceIfScoped(ev.Namespace, ev.Namespace != "").
		Resource("events").Name(ev.Name).Body(data).Do(context.Background()).Into(out)
	return out, err
}
