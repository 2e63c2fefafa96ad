// Package version holds the build version, stamped at link time with
// -ldflags "-X github.com/offload-overlay/offload-overlay/pkg/version.Version=...".
package version

// Version is the release of this build; "dev" when built without ldflags.
var Version = "dev"
