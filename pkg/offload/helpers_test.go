package offload_test

import (
	"errors"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

func isNoRoute(err error) bool { return errors.Is(err, offload.ErrNoRoute) }
