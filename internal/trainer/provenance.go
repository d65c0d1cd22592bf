package trainer

import (
	"encoding/json"
	"math"
	"os"
	"syscall"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/provenance"
)

// provenance is what model.json records of where the model came from: this
// trainer's build, the hyperparameters as parsed (defaults included) and the
// seed, the digest of the training channel's files, and the image digest
// the job service pinned (the container cannot see its own).
func (r *run) provenance() *provenance.Provenance {
	bi := buildinfo.Get()
	pv := &provenance.Provenance{Trainer: &bi, ImageDigest: os.Getenv(provenance.EnvImageDigest)}
	var hp map[string]any
	if b, err := json.Marshal(r.p); err == nil && json.Unmarshal(b, &hp) == nil {
		pv.Hyperparameters = hp
	}
	seed := r.p.Seed
	pv.Seed = &seed
	digest, n, err := provenance.FolderDigest(r.l.ChannelDir(ChannelTraining))
	if err != nil {
		r.logf("cannot compute the training data's digest: %v", err)
		pv.DataDigest = os.Getenv(provenance.EnvDataDigest)
		return pv
	}
	pv.DataDigest, pv.DataFiles = digest, n
	if want := os.Getenv(provenance.EnvDataDigest); want != "" && want != digest {
		r.logf("warning: the training data's digest %s differs from the one pinned at submit (%s): the data changed since", digest, want)
	}
	return pv
}

// UsageFile is output/data/usage.json: the trainer's CPU-seconds.
const UsageFile = "usage.json"

// cpuSeconds is the CPU time (user + system) this trainer process has used.
func cpuSeconds() (float64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return math.Round((tv(ru.Utime)+tv(ru.Stime))*1000) / 1000, true
}
