// Package buildinfo says which sagetrain this is: the module version, the VCS
// revision and dirty flag stamped by `go build`, and the Go version. The
// `version` command, model.json, exports and image labels all read it here so
// that they can never disagree.
package buildinfo
