package masq

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// replaceChain makes Chain hold exactly want in one iptables-restore
// transaction. Flushing the chain and appending rule by rule (one
// iptables run each) leaves windows in which pod egress is not
// masqueraded (chain empty) or pod-to-pod traffic is (the MASQUERADE rule
// already there, a RETURN not yet): iptables-restore commits the table in
// one step (one nf_tables batch with the nft backend, one table replace
// with the legacy one), and --noflush leaves every other chain alone.
// Declaring the chain (":OO-MASQ - [0:0]") creates it or, with --noflush,
// flushes it inside the same transaction.
// Equivalent to:
//
//	printf '*nat\n:OO-MASQ - [0:0]\n-A OO-MASQ ...\nCOMMIT\n' | iptables-restore --noflush -w
func replaceChain(ipt *iptables.IPTables, want [][]string) error {
	bin := "iptables-restore"
	if ipt.Proto() == iptables.ProtocolIPv6 {
		bin = "ip6tables-restore"
	}
	var in bytes.Buffer
	fmt.Fprintf(&in, "*%s\n:%s - [0:0]\n", table, Chain)
	for _, r := range want {
		fmt.Fprintf(&in, "-A %s %s\n", Chain, strings.Join(r, " "))
	}
	in.WriteString("COMMIT\n")
	cmd := exec.Command(bin, "--noflush", "-w", "5")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: replacing chain %s: %w: %s", bin, Chain, err, bytes.TrimSpace(out))
	}
	return nil
}
