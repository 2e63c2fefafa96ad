package lab

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
)

// cmdTB lets commands (make demo, make bench) use k8senv, whose API takes a
// testing.TB as tests do: cleanups run on Close, Fatal becomes a panic that
// startControlPlane recovers into an error, Skip into errK8sMissing.
type cmdTB struct {
	testing.TB // nil: methods not overridden here must not be called
	dir        string
	cleanups   []func()
}

type tbFatal struct{ msg string }
type tbSkip struct{ msg string }

func newCmdTB(dir string) *cmdTB { return &cmdTB{dir: dir} }

func (t *cmdTB) Helper()                   {}
func (t *cmdTB) Name() string              { return "lab" }
func (t *cmdTB) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *cmdTB) Log(args ...any)           { slog.Debug(fmt.Sprint(args...)) }
func (t *cmdTB) Logf(f string, a ...any)   { slog.Debug(fmt.Sprintf(f, a...)) }
func (t *cmdTB) Error(args ...any)         { panic(tbFatal{fmt.Sprint(args...)}) }
func (t *cmdTB) Errorf(f string, a ...any) { panic(tbFatal{fmt.Sprintf(f, a...)}) }
func (t *cmdTB) Fatal(args ...any)         { panic(tbFatal{fmt.Sprint(args...)}) }
func (t *cmdTB) Fatalf(f string, a ...any) { panic(tbFatal{fmt.Sprintf(f, a...)}) }
func (t *cmdTB) Skip(args ...any)          { panic(tbSkip{fmt.Sprint(args...)}) }
func (t *cmdTB) Skipf(f string, a ...any)  { panic(tbSkip{fmt.Sprintf(f, a...)}) }
func (t *cmdTB) SkipNow()                  { panic(tbSkip{"skipped"}) }
func (t *cmdTB) FailNow()                  { panic(tbFatal{"failed"}) }
func (t *cmdTB) Failed() bool              { return false }
func (t *cmdTB) Skipped() bool             { return false }

func (t *cmdTB) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "k8s-")
	if err != nil {
		panic(tbFatal{err.Error()})
	}
	return d
}

// Close runs the cleanups, last registered first.
func (t *cmdTB) Close() {
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
	t.cleanups = nil
}
