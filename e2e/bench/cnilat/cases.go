package cnilat

import "fmt"

// Case is one plugin configuration under test.
type Case struct {
	// Name labels the table row.
	Name string
	// Plugin is the binary's name in the CNI bin dir (size is reported).
	Plugin string
	// Conf returns the plugin's config object for a host-local dataDir.
	Conf func(dataDir string) string
}

// Row names of DefaultCases, used for the ratios.
const (
	OffloadOverlay = "offload-overlay"
	PTPMasq        = "ptp (ipMasq)"
	PTPNoMasq      = "ptp (no masq)"
	Bridge         = "bridge"
)

// benchSubnet is large enough for any pod count we run.
const benchSubnet = "10.200.0.0/16"

func hostLocal(dataDir string) string {
	return fmt.Sprintf(`{"type":"host-local","dataDir":%q,"ranges":[[{"subnet":%q}]]}`, dataDir, benchSubnet)
}

// DefaultCases are this plugin, ptp with and without ipMasq and bridge, all
// with the same MTU and host-local range.
func DefaultCases() []Case {
	return []Case{
		{Name: OffloadOverlay, Plugin: "offload-overlay", Conf: func(d string) string {
			return fmt.Sprintf(`{"type":"offload-overlay","mtu":1500,"ipam":%s}`, hostLocal(d))
		}},
		{Name: PTPMasq, Plugin: "ptp", Conf: func(d string) string {
			return fmt.Sprintf(`{"type":"ptp","ipMasq":true,"mtu":1500,"ipam":%s}`, hostLocal(d))
		}},
		{Name: PTPNoMasq, Plugin: "ptp", Conf: func(d string) string {
			return fmt.Sprintf(`{"type":"ptp","ipMasq":false,"mtu":1500,"ipam":%s}`, hostLocal(d))
		}},
		{Name: Bridge, Plugin: "bridge", Conf: func(d string) string {
			return fmt.Sprintf(`{"type":"bridge","bridge":"cnibench0","isGateway":true,"ipMasq":false,"mtu":1500,"ipam":%s}`, hostLocal(d))
		}},
	}
}

// SelectCases returns the cases of cs named in names, in cs's order.
func SelectCases(cs []Case, names []string) []Case {
	var out []Case
	for _, c := range cs {
		for _, n := range names {
			if c.Name == n {
				out = append(out, c)
			}
		}
	}
	return out
}
