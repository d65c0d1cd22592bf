package dataset

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// TrainerRules is the Checker of a training channel: the trainer's own
// data.Scan (metadata rows matched to images or to embeddings.npy). Every
// skipped row or file is a problem; notices (unknown subjects, ignored
// images) are warnings.
func TrainerRules(dir, metadata string) (*CheckResult, error) {
	ch, err := data.Scan(dir, metadata)
	if ch == nil {
		return nil, err
	}
	cr := &CheckResult{Metadata: ch.MetadataFile}
	if ch.Source == data.SourceEmbeddings {
		cr.Files = []string{data.EmbeddingsFile}
	} else {
		cr.RowLines = map[string]int{}
		for _, it := range ch.Items {
			cr.Files = append(cr.Files, it.Path)
			cr.RowLines[it.Path] = it.Row.Line
		}
	}
	for _, p := range ch.Report.Problems {
		msg := fmt.Sprintf("%s: %d item(s)", p.Kind, p.Count)
		if len(p.Examples) > 0 {
			msg += " (e.g. " + strings.Join(p.Examples, ", ") + ")"
		}
		msg += ": " + p.Description
		if p.Skipped {
			cr.Problems = append(cr.Problems, Problem{Message: msg})
		} else {
			cr.Warnings = append(cr.Warnings, Problem{Message: msg})
		}
	}
	if err != nil { // nothing usable: say so with the full report
		return cr, err
	}
	return cr, nil
}

// verifyImages decodes every image of the set as the trainer will (in
// parallel, remembering good files in the cache) and reports those that do
// not decode. It returns the files that passed.
func verifyImages(ctx context.Context, files []File, cache *hashCache) ([]File, []Problem, error) {
	bad := make([]error, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range files {
		if f.IsMetadata || !data.IsImageName(f.Rel) {
			continue
		}
		if ce, ok := cache.lookup(f); ok && ce.ImageOK {
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := data.VerifyImage(f.Abs); err != nil {
				bad[i] = err
				return nil
			}
			cache.update(f, func(ce *cacheEntry) { ce.ImageOK = true })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var ok []File
	var problems []Problem
	for i, f := range files {
		if bad[i] != nil {
			problems = append(problems, Problem{File: filepath.ToSlash(f.Rel), Message: "unreadable_image: " + bad[i].Error() + "; re-export it as png, jpeg or bmp"})
			continue
		}
		ok = append(ok, f)
	}
	return ok, problems, nil
}
