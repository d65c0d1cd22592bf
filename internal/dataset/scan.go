package dataset

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// MetadataKey is the fixed name of the metadata file under the S3 prefix.
const MetadataKey = "metadata.csv"

// ManifestKey is the manifest's name under the S3 prefix.
const ManifestKey = "manifest.json"

// File is one local file of a data set.
type File struct {
	Rel     string    // slash-separated path under the prefix (the key suffix)
	Abs     string    // where it is on disk
	Size    int64     // bytes
	ModTime time.Time // for the hash cache

	IsMetadata bool // the metadata file, uploaded at the fixed key
}

// Problem is one thing wrong with the data set. File is the relative path
// it concerns (empty when it is about the set as a whole).
type Problem struct {
	File    string `json:"file,omitempty"`
	Row     int    `json:"row,omitempty"` // 1-based metadata row, 0 if none
	Message string `json:"message"`
}

func (p Problem) String() string {
	s := p.Message
	if p.Row > 0 {
		s = fmt.Sprintf("row %d: %s", p.Row, s)
	}
	if p.File != "" {
		s = p.File + ": " + s
	}
	return s
}

// ScanResult is what Scan found: the files to upload (metadata included,
// as MetadataKey) and every problem.
type ScanResult struct {
	Files    []File
	Problems []Problem
	Warnings []Problem // notices that do not stop the upload
	// Excluded lists relative paths left out because of a problem.
	Excluded []string
	// RowLines maps each data file to the line of its metadata row (CSV).
	RowLines map[string]int
}

// CheckResult is what a Checker found.
type CheckResult struct {
	Files    []string  // data files the trainer will read, relative to dir, slash-separated
	Metadata string    // the metadata file it read (absolute or relative to dir)
	Problems []Problem // things that make files or rows unusable
	Warnings []Problem // notices: the data is used anyway
	// RowLines maps each data file to the 1-based line where its row starts
	// in a CSV metadata file (nil otherwise), for --allow-partial.
	RowLines map[string]int
}

// Checker applies the trainer's rules to a data set folder and its metadata
// file (metadata may be empty: the checker then finds it). Files it does not
// return are not uploaded.
type Checker func(dir, metadata string) (*CheckResult, error)

// metadataKeyFor is the key name of a metadata file: metadata.csv, or
// metadata.json for a JSON one.
func metadataKeyFor(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return "metadata.json"
	}
	return MetadataKey
}

// Scan lists the data set. With check nil, every regular, non-hidden file
// under dir is part of the set (plain-folder mode); otherwise check decides.
// The metadata file is uploaded as metadata.csv (metadata.json for JSON).
// A relative metadata path is relative to the working directory, as every
// path on a command line is (not to dir: "upload ./d --metadata ./d/m.csv").
func Scan(dir, metadata string, check Checker) (*ScanResult, error) {
	if metadata != "" && !filepath.IsAbs(metadata) {
		abs, err := filepath.Abs(metadata)
		if err != nil {
			return nil, errs.Configuration(fmt.Sprintf("metadata file %q has no absolute path", metadata), "give an absolute path", err)
		}
		metadata = abs
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, errs.Configuration(fmt.Sprintf("data set folder %q is not a readable folder", dir),
			"pass the folder that holds the drawings", err)
	}
	res := &ScanResult{}
	var names []string
	var infos map[string]fs.FileInfo // from the walk, to stat each file once
	if check != nil {
		cr, err := check(dir, metadata)
		if err != nil {
			return nil, err
		}
		names = cr.Files
		metadata = cr.Metadata
		if metadata != "" && !filepath.IsAbs(metadata) {
			metadata = filepath.Join(dir, metadata)
		}
		res.Problems = append(res.Problems, cr.Problems...)
		res.Warnings = append(res.Warnings, cr.Warnings...)
		res.RowLines = cr.RowLines
	}
	if check == nil && metadata == "" {
		// A plain folder's own metadata.csv / metadata.json is its metadata.
		for _, name := range []string{MetadataKey, "metadata.json"} {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
				metadata = filepath.Join(dir, name)
				break
			}
		}
	}
	var metaAbs string
	if metadata != "" {
		metaAbs, _ = filepath.Abs(metadata)
		mst, err := os.Stat(metadata)
		if err != nil || !mst.Mode().IsRegular() {
			return nil, errs.Configuration(fmt.Sprintf("metadata file %q is not readable", metadata),
				"pass the CSV that lists the drawings with --metadata", err)
		}
		res.Files = append(res.Files, File{Rel: metadataKeyFor(metadata), Abs: metaAbs, Size: mst.Size(), ModTime: mst.ModTime(), IsMetadata: true})
	}
	if check == nil {
		names, infos, res.Problems, err = walkPlain(dir, metaAbs)
		if err != nil {
			return nil, err
		}
	}
	bad := map[string]bool{}
	for _, p := range res.Problems {
		if p.File != "" {
			bad[p.File] = true
		}
	}
	for _, rel := range names {
		rel = filepath.ToSlash(rel)
		if bad[rel] {
			res.Excluded = append(res.Excluded, rel)
			continue
		}
		if rel == MetadataKey || rel == "metadata.json" || rel == ManifestKey {
			if abs, _ := filepath.Abs(filepath.Join(dir, rel)); abs == metaAbs {
				continue
			}
			res.Problems = append(res.Problems, Problem{File: rel, Message: "this name is reserved for sagetrain's own " + rel + " at the prefix; rename the file"})
			res.Excluded = append(res.Excluded, rel)
			continue
		}
		abs := filepath.Join(dir, filepath.FromSlash(rel))
		fst, err := infos[rel], error(nil)
		if fst == nil {
			fst, err = os.Stat(abs)
		}
		if err != nil {
			res.Problems = append(res.Problems, Problem{File: rel, Message: "cannot read the file: " + err.Error()})
			res.Excluded = append(res.Excluded, rel)
			continue
		}
		res.Files = append(res.Files, File{Rel: rel, Abs: abs, Size: fst.Size(), ModTime: fst.ModTime()})
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Rel < res.Files[j].Rel })
	sort.Strings(res.Excluded)
	return res, nil
}

// walkPlain lists regular non-hidden files under dir, leaving out the
// metadata file itself, and reports empty or unreadable ones.
func walkPlain(dir, metaAbs string) ([]string, map[string]fs.FileInfo, []Problem, error) {
	var names []string
	infos := map[string]fs.FileInfo{}
	var problems []Problem
	metaRel := "\x00" // the metadata file's path relative to dir, if inside
	if absDir, err := filepath.Abs(dir); err == nil && metaAbs != "" {
		if r, err := filepath.Rel(absDir, metaAbs); err == nil && !strings.HasPrefix(r, "..") {
			metaRel = filepath.ToSlash(r)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if err != nil {
			problems = append(problems, Problem{File: rel, Message: "cannot read: " + err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if rel == metaRel {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			problems = append(problems, Problem{File: rel, Message: "cannot stat: " + err.Error()})
			return nil
		}
		if info.Size() == 0 {
			problems = append(problems, Problem{File: rel, Message: "the file is empty"})
		}
		names = append(names, rel)
		infos[rel] = info
		return nil
	})
	if err != nil {
		return nil, nil, nil, errs.Configuration("cannot list the data set folder", "check its permissions", err)
	}
	return names, infos, problems, nil
}
