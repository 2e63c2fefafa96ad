// Package bgprouter runs a real BGP router, BIRD 2 from Debian (package
// bird2), in a network namespace, configured as a top-of-rack router would
// be: one AS for the fabric, every node a neighbour, learnt routes installed
// in the namespace's kernel table so that packets are really routed by
// them. Tests and the lab read its state from the daemon itself (`birdc
// show route`, `show protocols`) and from the kernel (`ip route show proto
// bird`), never from the speaker under test.
//
// Why BIRD and not a second gobgp: a test of our speaker against our own
// library would share its bugs and its reading of the RFCs; BIRD is what
// many fabrics and route servers run, and it is strict (graceful restart,
// TCP MD5, next-hop checks on direct eBGP sessions).
//
// The router is a child process of the test (bird -f in `ip netns exec`),
// with its config, control socket and log in a temporary directory; Stop
// ends exactly that process.
package bgprouter
