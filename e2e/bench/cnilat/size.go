package cnilat

import (
	"debug/elf"
	"fmt"
	"os"
)

// BinarySize is a plugin binary's size on disk and the bytes the loader
// maps (PT_LOAD segments: code and data, not symbols or DWARF), which
// compares binaries fairly whether or not they were stripped.
type BinarySize struct {
	File, Loaded int64
}

// SizeOf measures the binary at path (symlinks followed).
func SizeOf(path string) (BinarySize, error) {
	st, err := os.Stat(path)
	if err != nil {
		return BinarySize{}, fmt.Errorf("binary size: %w", err)
	}
	f, err := elf.Open(path)
	if err != nil {
		return BinarySize{}, fmt.Errorf("reading ELF %s: %w", path, err)
	}
	defer f.Close()
	var loaded int64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loaded += int64(p.Filesz)
		}
	}
	return BinarySize{File: st.Size(), Loaded: loaded}, nil
}
