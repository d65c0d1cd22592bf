package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/store"
)

func isRemote(p string) bool {
	return strings.HasPrefix(p, "s3://") || strings.HasPrefix(p, "https://")
}

func trimFile(p string) string { return strings.TrimPrefix(p, "file://") }

// metadataPath is the spec's metadata file; a relative one is inside the
// dataset folder.
func metadataPath(sp *spec.Spec) string {
	m := sp.MetadataFile
	if m == "" {
		m = spec.DefaultMetadataFile
	}
	if filepath.IsAbs(m) {
		return m
	}
	return filepath.Join(sp.DatasetFolder, m)
}

// launch asks the job's backend to create it and records the outcome: the
// ARN and "preparing" on success (also when the backend already had it),
// "failed" with the reason when the request is wrong, and "pending" with a
// message when the backend could not be reached (the reconciler retries).
func (s *Service) launch(ctx context.Context, j *store.Job) (*store.Job, error) {
	be, ok := s.backends[j.Backend]
	if !ok {
		return j, errs.Configuration("backend "+j.Backend+" of job "+j.ID+" is not available in this process",
			"run this command where the "+j.Backend+" backend is configured", nil)
	}
	sp, err := jobSpec(j)
	if err != nil {
		return s.failLaunch(ctx, j, err)
	}
	channels, err := s.channels(ctx, j, sp)
	if err != nil {
		if errors.Is(err, errs.ErrConfiguration) {
			return s.failLaunch(ctx, j, err)
		}
		return s.pendingLaunch(ctx, j, err)
	}
	in, err := sp.CreateTrainingJobInput(j.RemoteName, channels)
	if err != nil {
		return s.failLaunch(ctx, j, err)
	}
	serviceEnv := s.pin(ctx, j, sp, channels)
	arn, err := s.create(ctx, be, j, in, serviceEnv)
	if err != nil && !(errors.Is(err, errs.ErrConflict) && arn != "") {
		if errors.Is(err, errs.ErrConfiguration) {
			return s.failLaunch(ctx, j, err)
		}
		return s.pendingLaunch(ctx, j, err)
	}
	return s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
		if cur.RemoteARN != "" {
			return nil, errUnchanged
		}
		cur.RemoteARN = arn
		if cur.Status == store.StatusPending {
			cur.Status = store.StatusPreparing
			cur.SecondaryStatus = "Starting"
			cur.StatusMessage = "created on the " + cur.Backend + " backend"
		}
		return []store.Event{{At: store.Now(), Status: cur.Status, SecondaryStatus: cur.SecondaryStatus, Message: "created " + arn}}, nil
	})
}

func (s *Service) failLaunch(ctx context.Context, j *store.Job, cause error) (*store.Job, error) {
	got, err := s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
		if cur.Status.Terminal() {
			return nil, errUnchanged
		}
		now := store.Now()
		cur.Status, cur.SecondaryStatus = store.StatusFailed, "Failed"
		cur.FailureReason = "the backend refused the job: " + cause.Error()
		cur.StatusMessage = "not started"
		cur.EndedAt = &now
		return []store.Event{{At: now, Status: store.StatusFailed, SecondaryStatus: "Failed", Message: cur.FailureReason}}, nil
	})
	if err != nil {
		return j, err
	}
	return got, cause
}

func (s *Service) pendingLaunch(ctx context.Context, j *store.Job, cause error) (*store.Job, error) {
	got, err := s.modify(ctx, j.ID, func(cur *store.Job) ([]store.Event, error) {
		cur.StatusMessage = "creating the job on the backend failed, will retry: " + cause.Error()
		return nil, nil
	})
	if err != nil {
		return j, err
	}
	return got, cause
}

// channels maps the spec's data to channel URIs the backend reads: local
// folders as file:// for the local backend, uploaded to S3 for SageMaker.
func (s *Service) channels(ctx context.Context, j *store.Job, sp *spec.Spec) (map[string]string, error) {
	out := map[string]string{}
	local := j.Backend == spec.BackendLocal
	if sp.InputDataS3URI != "" {
		out["training"] = sp.InputDataS3URI
	} else {
		dir, err := s.trainingFolder(j, sp)
		if err != nil {
			return nil, err
		}
		if local {
			out["training"] = "file://" + dir
		} else {
			uri, err := s.upload(ctx, sp, dir, metadataPath(sp), "training", j.RemoteName)
			if err != nil {
				return nil, err
			}
			out["training"] = uri
		}
	}
	for name, p := range sp.Channels {
		switch {
		case isRemote(p):
			out[name] = p
		case local:
			abs, err := filepath.Abs(trimFile(p))
			if err != nil {
				return nil, errs.Configuration("channels."+name+" path "+p+" is not usable", "give an absolute folder", err)
			}
			out[name] = "file://" + abs
		default:
			dir := trimFile(p)
			uri, err := s.upload(ctx, sp, dir, filepath.Join(dir, spec.DefaultMetadataFile), name, j.RemoteName)
			if err != nil {
				return nil, err
			}
			out[name] = uri
		}
	}
	return out, nil
}

func (s *Service) upload(ctx context.Context, sp *spec.Spec, dir, metadata, channel, remote string) (string, error) {
	if s.uploader == nil {
		return "", errs.Configuration("SageMaker jobs need their data in S3, and this process cannot upload "+dir,
			"run 'sagetrain upload' first and set input_data_s3_uri, or submit through a configured sagetrain", nil)
	}
	if !strings.HasPrefix(sp.OutputS3URI, "s3://") {
		return "", errs.Configuration("cannot choose where to upload "+dir+": output_s3_uri is not an s3:// URI",
			"set output_s3_uri to s3://bucket/prefix, or upload first and set input_data_s3_uri", nil)
	}
	prefix := strings.TrimSuffix(sp.OutputS3URI, "/") + "/" + remote + "/input/" + channel
	return s.uploader(ctx, dir, metadata, prefix)
}

// trainingFolder is the folder the training channel shows the trainer: the
// dataset folder itself, or, when the metadata file is not its
// metadata.csv, a folder of links to the data set's entries with
// metadata.csv pointing at the given file (the trainer reads metadata.csv).
func (s *Service) trainingFolder(j *store.Job, sp *spec.Spec) (string, error) {
	ds, err := filepath.Abs(trimFile(sp.DatasetFolder))
	if err != nil {
		return "", errs.Configuration("dataset_folder "+sp.DatasetFolder+" is not usable", "give an absolute folder", err)
	}
	meta, err := filepath.Abs(metadataPath(sp))
	if err != nil {
		return "", errs.Configuration("metadata_file "+sp.MetadataFile+" is not usable", "give a file path", err)
	}
	if meta == filepath.Join(ds, spec.DefaultMetadataFile) {
		return ds, nil
	}
	stage := filepath.Join(s.artRoot, "staging", j.RemoteName, "training")
	entries, err := os.ReadDir(ds)
	if err != nil {
		return "", errs.Configuration("cannot read dataset_folder "+ds, "check it exists and is readable", err)
	}
	_ = os.RemoveAll(stage)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", errs.Job("cannot create the staging folder "+stage, "check the artifact root's permissions", err)
	}
	for _, e := range entries {
		if e.Name() == spec.DefaultMetadataFile {
			continue
		}
		if err := os.Symlink(filepath.Join(ds, e.Name()), filepath.Join(stage, e.Name())); err != nil {
			return "", errs.Job("cannot link "+e.Name()+" into "+stage, "check the artifact root's permissions", err)
		}
	}
	if err := os.Symlink(meta, filepath.Join(stage, spec.DefaultMetadataFile)); err != nil {
		return "", errs.Job("cannot link the metadata file into "+stage, "check the artifact root's permissions", err)
	}
	return stage, nil
}
