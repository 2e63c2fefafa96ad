package offload

import (
	"fmt"

	"github.com/safchain/ethtool"
)

// ethtoolReader reads features and driver info through one ethtool ioctl
// socket. The socket belongs to the network namespace it was created in, so
// a reader must be opened inside the namespace it inspects.
type ethtoolReader struct{ e *ethtool.Ethtool }

func newEthtoolReader() (*ethtoolReader, error) {
	e, err := ethtool.NewEthtool()
	if err != nil {
		return nil, fmt.Errorf("opening ethtool socket: %w", err)
	}
	return &ethtoolReader{e: e}, nil
}

func (r *ethtoolReader) Close() { r.e.Close() }

// features reads every feature of dev. Equivalent to: `ethtool -k DEV`.
func (r *ethtoolReader) features(dev string) (Features, error) {
	raw, err := r.e.FeaturesWithState(dev)
	if err != nil {
		return nil, fmt.Errorf("reading ethtool features of %s: %w", dev, err)
	}
	out := make(Features, len(raw))
	for name, st := range raw {
		out[name] = FeatureState{
			Available: st.Available,
			Requested: st.Requested,
			Active:    st.Active,
			// ethtool prints [fixed] for bits that are not in hw_features
			// or that the kernel marks as never changeable.
			Fixed: !st.Available || st.NeverChanged,
		}
	}
	return out, nil
}

// driver returns the driver name. Equivalent to: `ethtool -i DEV`.
func (r *ethtoolReader) driver(dev string) (string, error) {
	info, err := r.e.DriverInfo(dev)
	if err != nil {
		return "", fmt.Errorf("reading ethtool driver info of %s: %w", dev, err)
	}
	return info.Driver, nil
}
