package bgpconfig

import (
	"strings"
)

// WithNode applies one Node's overrides: its labels and annotations
// (LabelAS, LabelPeers; the annotation wins over the label of the same key)
// replace the cluster-wide flags, so that racks can have their own AS and
// top-of-rack router, and a rack without BGP sets the AS to 0. The result
// is validated; errors name the Node key.
func (c Config) WithNode(labels, annotations map[string]string) (Config, error) {
	out := c
	out.Peers = append([]Peer(nil), c.Peers...)
	if v, ok := lookup(LabelAS, labels, annotations); ok {
		as, err := parseAS(LabelAS, v, true)
		if err != nil {
			return Config{}, err
		}
		out.AS = as
	}
	if v, fromAnnotation, ok := lookupPeers(labels, annotations); ok {
		peers, err := parseNodePeers(v, fromAnnotation)
		if err != nil {
			return Config{}, err
		}
		out.Peers = peers
	}
	if err := out.Validate(); err != nil {
		return Config{}, err
	}
	return out, nil
}

func lookup(key string, labels, annotations map[string]string) (string, bool) {
	if v, ok := annotations[key]; ok {
		return v, true
	}
	v, ok := labels[key]
	return v, ok
}

func lookupPeers(labels, annotations map[string]string) (string, bool, bool) {
	if v, ok := annotations[LabelPeers]; ok {
		return v, true, true
	}
	v, ok := labels[LabelPeers]
	return v, false, ok
}

// parseNodePeers reads the annotation's ADDRESS:AS,... or the label's
// label-safe ADDRESS-AS_ADDRESS-AS (IPv4 only).
func parseNodePeers(v string, fromAnnotation bool) ([]Peer, error) {
	items := splitList(v)
	if !fromAnnotation {
		items = nil
		for _, s := range strings.Split(v, "_") {
			if s = strings.TrimSpace(s); s != "" {
				if i := strings.LastIndexByte(s, '-'); i > 0 {
					s = s[:i] + ":" + s[i+1:]
				}
				items = append(items, s)
			}
		}
	}
	var peers []Peer
	for _, s := range items {
		p, err := ParsePeer(s)
		if err != nil {
			return nil, &FlagError{Flag: LabelPeers, Value: v, Err: err}
		}
		peers = append(peers, p)
	}
	return peers, nil
}
