// Package buildinfo says which sagetrain this is: the module version, the VCS
// revision and dirty flag stamped by `go build`, and the Go version. The
// `version` command, model.json, exports and image labels all read it here so
// that they can never disagree.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Info is the identity of the running binary.
type Info struct {
	Version   string `json:"version"`            // module version, "(devel)" for a source build
	Revision  string `json:"revision,omitempty"` // VCS commit, when go build stamped it
	Time      string `json:"time,omitempty"`     // commit time (RFC 3339), when stamped
	Dirty     bool   `json:"dirty"`              // the work tree had uncommitted changes
	GoVersion string `json:"go_version"`         // the toolchain that built the binary
}

// String is the one-line form: "v1.2.3 (abc1234, dirty) go1.26.8".
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if i.Dirty {
			rev += ", dirty"
		}
		s += " (" + rev + ")"
	}
	return s + " " + i.GoVersion
}

var (
	once   sync.Once
	cached Info
)

// Get reads the binary's build information once.
func Get() Info {
	once.Do(func() {
		cached = Info{Version: "(devel)", GoVersion: runtime.Version()}
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			return
		}
		if v := bi.Main.Version; v != "" {
			cached.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				cached.Revision = s.Value
			case "vcs.time":
				cached.Time = s.Value
			case "vcs.modified":
				cached.Dirty = s.Value == "true"
			}
		}
	})
	return cached
}
