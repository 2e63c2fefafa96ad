// Package labbench is `make bench`'s throughput part: for each underlay
// variant it brings up a two-node lab (package lab) with the real agent,
// measures one pod pair with the datapath the agent chose ("auto"), with the
// same pods forced onto a static VXLAN overlay and onto native routes, and
// node to node on the bare underlay, interleaved round by round (package
// perf), plus BIG TCP on every device where auto is native. It writes a
// Markdown report with the kernel version and a PNG chart to e2e/results/.
//
// Why ratios: absolute Gbit/s on a 2-core machine shared with other work
// drift by 2x over minutes; a ratio to the bare underlay of the same round
// does not. Figures are printed, never asserted.
package labbench
