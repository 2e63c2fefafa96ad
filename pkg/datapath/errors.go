package datapath

import (
	"errors"
	"fmt"
)

// PathError is the kernel's refusal of one path (named by Path.Key) in an
// error of ApplyPaths or ResyncPaths: the other paths were programmed.
type PathError struct {
	Key string
	Err error
}

func (e *PathError) Error() string { return fmt.Sprintf("peer %s: %v", e.Key, e.Err) }
func (e *PathError) Unwrap() error { return e.Err }

// FailedPaths separates, in an error of ApplyPaths or ResyncPaths, the
// paths the kernel refused (by Path.Key) from a failure of the node as a
// whole (rest): the controller keeps the node going past the first and
// retries those paths alone.
func FailedPaths(err error) (failed map[string]error, rest error) {
	var others []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var pe *PathError
		if errors.As(e, &pe) {
			if failed == nil {
				failed = map[string]error{}
			}
			failed[pe.Key] = pe.Err
			return
		}
		others = append(others, e)
	}
	walk(err)
	return failed, errors.Join(others...)
}
