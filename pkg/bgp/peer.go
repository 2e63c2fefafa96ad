package bgp

import (
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
)

// connectRetry is how often an idle session redials (gobgp waits a random
// 1-2x of it): a router that comes back is found within seconds, not the
// RFC's two minutes.
const connectRetry = 3

// peerConf is one neighbour in gobgp's terms: both unicast families, the
// node IP of the peer's family as source, TCP MD5, timers and graceful
// restart. Equivalent to: `gobgp neighbor add ADDRESS as AS`.
func peerConf(cfg bgpconfig.Config, p bgpconfig.Peer, source netip.Addr) *api.Peer {
	hold := uint64(cfg.HoldTime.Seconds())
	gr := cfg.GracefulRestart
	peer := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.AS, AuthPassword: cfg.Password},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: hold, KeepaliveInterval: max(1, hold/3), ConnectRetry: connectRetry,
		}},
		Transport: &api.Transport{},
		AfiSafis: []*api.AfiSafi{
			afiSafi(familyV4, gr),
			afiSafi(familyV6, gr),
		},
	}
	if source.IsValid() {
		peer.Transport.LocalAddress = source.String()
	}
	if gr {
		// LocalRestarting sets the forwarding-state bit: the node's kernel
		// routes outlive the agent, so the router may keep ours. gobgp then
		// waits for the router's End-of-RIB before sending its own updates.
		peer.GracefulRestart = &api.GracefulRestart{
			Enabled: true, RestartTime: uint32(cfg.RestartTime.Seconds()), LocalRestarting: true,
		}
	}
	return peer
}

func afiSafi(f *api.Family, gr bool) *api.AfiSafi {
	return &api.AfiSafi{
		Config:            &api.AfiSafiConfig{Family: f, Enabled: true},
		MpGracefulRestart: &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: gr}},
	}
}
