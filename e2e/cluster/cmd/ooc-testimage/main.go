// Command ooc-testimage writes the cluster e2e's test image (testimg) as a
// docker-archive tarball, for `kind load image-archive` (e2e/kind/run.sh).
//
//	ooc-testimage -testimg PATH -o OUT.tar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/offload-overlay/offload-overlay/e2e/cluster"
)

func main() {
	bin := flag.String("testimg", "", "static testimg binary (go build ./e2e/cluster/cmd/testimg)")
	out := flag.String("o", "testimg.tar", "output tarball")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "ooc-testimage: -testimg is required")
		os.Exit(2)
	}
	for _, im := range cluster.TestImages(*bin) {
		if im.Ref != cluster.TestImage {
			continue
		}
		if err := im.WriteDockerArchive(*out); err != nil {
			fmt.Fprintln(os.Stderr, "ooc-testimage:", err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s (%s)\n", *out, im.Ref)
	}
}
