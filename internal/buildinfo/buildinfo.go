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

	// revision is stamped with -ldflags -X by `sagetrain image build`,
	// which compiles with -buildvcs=false (so the digest does not depend on
	// the work tree) and still wants the trainer to know its commit.
	revision string
)

// RevisionSymbol is the -X name that stamps the revision of a binary built
// without VCS information.
const RevisionSymbol = "github.com/sagetrain/sagetrain/internal/buildinfo.revision"

// Get reads the binary's build information once.
func Get() Info {
	once.Do(func() {
		cached = Info{Version: "(devel)", GoVersion: runtime.Version(), Revision: revision}
		if bi, ok := debug.ReadBuildInfo(); ok {
			cached = FromBuildInfo(bi)
			if cached.Revision == "" {
				cached.Revision = revision
			}
		}
	})
	return cached
}

// FromBuildInfo reads the identity out of Go's build information, the
// running binary's or another binary's (debug/buildinfo.ReadFile).
func FromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Version: "(devel)", GoVersion: bi.GoVersion}
	if v := bi.Main.Version; v != "" {
		i.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Dirty = s.Value == "true"
		}
	}
	return i
}
