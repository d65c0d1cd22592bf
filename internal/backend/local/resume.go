package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A local job keeps its checkpoints in its folder (hosts/algo-N/checkpoints)
// after it ends, so a stopped, failed or interrupted job can be resumed: the
// new job's CheckpointConfig.S3Uri names the old job's file://.../hosts
// folder, and each host starts with its namesake's checkpoints, as
// SageMaker starts a job with its checkpoint URI's objects in LocalPath.

// CheckpointSource is where a resumed job finds this job's checkpoints.
func (b *Backend) CheckpointSource(name string) (string, error) {
	if !namePattern.MatchString(name) {
		return "", fmt.Errorf("local training job name %q is not valid", name)
	}
	hosts := filepath.Join(b.JobDir(name), "hosts")
	if _, err := os.Stat(hosts); err != nil {
		return "", fmt.Errorf("local job %s kept no checkpoints: %w", name, err)
	}
	return "file://" + hosts, nil
}

// restoreCheckpoints copies a file:// checkpoint source into each host's
// checkpoints folder: <src>/<host>/checkpoints when the source is a job's
// hosts folder, else the source folder itself for every host. Only regular
// files at the top level are copied (checkpoints are flat; links are not
// followed).
func (r *runner) restoreCheckpoints(hosts []string) error {
	cc := r.job.Request.CheckpointConfig
	if cc == nil || !strings.HasPrefix(aws.ToString(cc.S3Uri), "file://") {
		return nil
	}
	src := filepath.Clean(strings.TrimPrefix(aws.ToString(cc.S3Uri), "file://"))
	for _, h := range hosts {
		from := filepath.Join(src, h, "checkpoints")
		if fi, err := os.Stat(from); err != nil || !fi.IsDir() {
			from = src
		}
		entries, err := os.ReadDir(from)
		if err != nil {
			return fmt.Errorf("read checkpoints %s: %w", from, err)
		}
		dst := filepath.Join(r.dir, "hosts", h, "checkpoints")
		n := 0
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if err := copyFile(filepath.Join(from, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return fmt.Errorf("copy checkpoint %s: %w", e.Name(), err)
			}
			n++
		}
		r.logf("%s: %d checkpoint files from %s", h, n, from)
	}
	return nil
}
