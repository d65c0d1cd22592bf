package api

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/excerpt"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// DataRootsEnv holds data roots, colon-separated, besides serve --data-root.
const DataRootsEnv = "SAGETRAIN_DATA_ROOTS"

// ResolveDataRoots checks the data-root folders given to serve (flags and
// SAGETRAIN_DATA_ROOTS) and returns them absolute with symlinks resolved,
// the form the request checks compare against.
func ResolveDataRoots(flags []string, env string) ([]string, error) {
	var in []string
	in = append(in, flags...)
	for _, d := range strings.Split(env, ":") {
		if d = strings.TrimSpace(d); d != "" {
			in = append(in, d)
		}
	}
	var out []string
	for _, d := range in {
		abs, err := filepath.Abs(d)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return nil, errs.Configuration("data root "+d+" cannot be resolved", "give an existing folder to --data-root or "+DataRootsEnv, err)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return nil, errs.Configuration("data root "+d+" is not a folder", "give an existing folder to --data-root or "+DataRootsEnv, err)
		}
		if abs == "/" {
			return nil, errs.Configuration("data root / would open every server file to API callers", "give the folders that hold training data", nil)
		}
		out = append(out, abs)
	}
	sort.Strings(out)
	return out, nil
}

// pathError is a request path outside the data roots: 403.
type pathError struct{ field, msg string }

// checkServerPath resolves p (following symlinks, also of a not yet
// existing tail) and refuses it unless it lies inside a data root. field is
// the request's name for it. Every API route that takes a server path calls
// it; the CLI, run by the machine's own user, does not.
func (s *Server) checkServerPath(field, p string) *pathError {
	shown := excerpt.Clean(p, 200)
	flag := "sagetrain serve --data-root DIR (or " + DataRootsEnv + ")"
	if len(s.dataRoots) == 0 {
		return &pathError{field, field + " " + shown + " names a server folder, and this server has no data root: a token cannot reach server files. Upload the data to S3 and give an s3:// URI, or start " + flag}
	}
	if !filepath.IsAbs(p) {
		return &pathError{field, field + " " + shown + " is not an absolute path; give a path inside a data root of " + flag}
	}
	real, err := resolvePath(p)
	if err == nil {
		for _, r := range s.dataRoots {
			if within(r, real) {
				return nil
			}
		}
	}
	return &pathError{field, field + " " + shown + " is outside the server's data roots; put the data under a folder given to " + flag + ", or upload it to S3"}
}

// resolvePath is filepath.EvalSymlinks that also takes a path whose tail
// does not exist yet: the existing part is resolved, the rest appended.
func resolvePath(p string) (string, error) {
	p = filepath.Clean(p)
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	parent := filepath.Dir(p)
	if parent == p {
		return "", err
	}
	rp, err := resolvePath(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, filepath.Base(p)), nil
}

func within(root, p string) bool {
	if p == root {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(root, string(filepath.Separator))+string(filepath.Separator))
}

func isRemoteURI(p string) bool {
	return strings.HasPrefix(p, "s3://") || strings.HasPrefix(p, "https://")
}

// checkSpecPaths checks every server path a job spec names.
func (s *Server) checkSpecPaths(sp *spec.Spec) *pathError {
	if sp.DatasetFolder != "" {
		ds := strings.TrimPrefix(sp.DatasetFolder, "file://")
		if e := s.checkServerPath("dataset_folder", ds); e != nil {
			return e
		}
		m := sp.MetadataFile
		if m == "" {
			m = spec.DefaultMetadataFile
		}
		if !filepath.IsAbs(m) {
			m = filepath.Join(ds, m)
		}
		if e := s.checkServerPath("metadata_file", m); e != nil {
			return e
		}
	} else if sp.MetadataFile != "" && filepath.IsAbs(sp.MetadataFile) {
		if e := s.checkServerPath("metadata_file", sp.MetadataFile); e != nil {
			return e
		}
	}
	names := make([]string, 0, len(sp.Channels))
	for n := range sp.Channels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if p := sp.Channels[n]; p != "" && !isRemoteURI(p) {
			if e := s.checkServerPath("channels."+n, strings.TrimPrefix(p, "file://")); e != nil {
				return e
			}
		}
	}
	for _, f := range []struct{ name, val string }{
		{"output_s3_uri", sp.OutputS3URI}, {"input_data_s3_uri", sp.InputDataS3URI}, {"checkpoint_s3_uri", sp.CheckpointS3URI},
	} {
		if f.val == "" || isRemoteURI(f.val) {
			continue
		}
		if f.name != "output_s3_uri" {
			return &pathError{f.name, f.name + " " + excerpt.Clean(f.val, 200) + " is not an s3:// URI; a token reaches server folders only through dataset_folder and channels inside sagetrain serve --data-root folders"}
		}
		// Outputs of API jobs stay in sagetrain's own folders.
		return &pathError{f.name, f.name + " " + excerpt.Clean(f.val, 200) + " names a server folder; API jobs write only to sagetrain's own folders (sagetrain serve --data-root folders are for inputs): leave output_s3_uri out for a local job, or give an s3:// URI"}
	}
	return nil
}

func writePathError(w http.ResponseWriter, e *pathError) {
	writeError(w, http.StatusForbidden, "forbidden_path", e.msg)
}

// cleanRoots makes roots absolute and resolves their symlinks (a root that
// cannot be resolved is kept as given, cleaned: it matches nothing that
// resolves elsewhere).
func cleanRoots(roots []string) []string {
	var out []string
	for _, r := range roots {
		if abs, err := filepath.Abs(r); err == nil {
			r = abs
		}
		if real, err := filepath.EvalSymlinks(r); err == nil {
			r = real
		}
		out = append(out, filepath.Clean(r))
	}
	return out
}
