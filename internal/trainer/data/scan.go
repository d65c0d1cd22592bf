package data

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/excerpt"
)

// Sources of a channel's features.
const (
	SourceImages     = "images"
	SourceEmbeddings = "embeddings"
)

// EmbeddingsFile is the name of a channel's precomputed embeddings.
const EmbeddingsFile = "embeddings.npy"

// Item is one usable sample of a channel: its metadata row and either its
// image (Path) or its embedding (Vector).
type Item struct {
	Row
	Path   string    `json:"path,omitempty"` // image path relative to the channel folder, '/'-separated
	Vector []float32 `json:"-"`              // the embedding row (embeddings source only)
}

// Channel is a scanned channel folder: the usable items in metadata order
// and the report of everything that was skipped.
type Channel struct {
	Dir          string  `json:"dir"`
	MetadataFile string  `json:"metadata_file"` // relative to Dir
	Source       string  `json:"source"`        // SourceImages or SourceEmbeddings
	Dim          int     `json:"dim,omitempty"` // embedding width (embeddings source)
	Items        []Item  `json:"items"`
	Report       *Report `json:"report"`
}

// Scan reads a channel folder by the trainer's rules without decoding any
// image: the metadata file (metadataFile, relative to dir or absolute; ""
// finds metadata.csv, else metadata.json), then embeddings.npy if present,
// else the image files under dir (any depth) matched to rows by exact name
// (relative path, then base name), then by name without extension, then the
// same ignoring letter case. Every skipped row or file is counted in the
// Report. When nothing usable is left the Channel (with its Report) is
// returned together with an errs.Configuration error saying what to fix.
func Scan(dir, metadataFile string) (*Channel, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, errs.Configuration(fmt.Sprintf("channel folder %s does not exist or is not a folder", dir),
			"point it at a folder holding metadata.csv (or metadata.json) and the images or embeddings.npy", err)
	}
	rep := NewReport(dir)
	ch := &Channel{Dir: dir, Report: rep, Items: []Item{}}
	mdPath, err := findMetadata(dir, metadataFile)
	if err != nil {
		return nil, err
	}
	ch.MetadataFile = relOrSelf(dir, mdPath)
	rep.MetadataFile = ch.MetadataFile

	images, err := listImages(dir)
	if err != nil {
		return nil, errs.Configuration("cannot list the images of "+dir, "check the folder's permissions", err)
	}
	rep.ImageFiles = len(images)
	npyPath := filepath.Join(dir, EmbeddingsFile)
	_, npyErr := os.Stat(npyPath)
	useNPY := npyErr == nil
	if useNPY {
		ch.Source = SourceEmbeddings
	} else {
		ch.Source = SourceImages
	}
	rep.Source = ch.Source

	f, err := os.Open(mdPath)
	if err != nil {
		return nil, errs.Configuration("cannot open the metadata file "+mdPath, "check that it exists and is readable", err)
	}
	format := ""
	switch strings.ToLower(filepath.Ext(mdPath)) {
	case ".csv":
		format = "csv"
	case ".json":
		format = "json"
	}
	md, err := ParseMetadata(f, format, !useNPY, rep)
	f.Close()
	if err != nil {
		return nil, err
	}
	if useNPY {
		scanEmbeddings(ch, md, npyPath)
		if len(images) > 0 {
			rep.AddN(KindIgnoredImages, len(images), images[0])
		}
	} else {
		matchImages(ch, md, images)
	}
	ch.recount()
	if len(ch.Items) == 0 {
		return ch, ch.NoneUsableError()
	}
	return ch, nil
}

// NoneUsableError is the error for a channel with no usable item left: it
// names the largest problems and what to do about the largest one.
func (c *Channel) NoneUsableError() error {
	rep := c.Report
	fix := "add rows to the metadata file, one per drawing, with filename and age_years"
	var top *Problem
	for _, p := range rep.Problems {
		if p.Skipped && (top == nil || p.Count > top.Count) {
			top = p
		}
	}
	if top != nil {
		fix = top.Description
	}
	return errs.Configuration(fmt.Sprintf("no usable samples in %s (%d metadata rows, %d image files): %s",
		c.Dir, rep.MetadataRows, rep.ImageFiles, rep.problemSummary()), fix, nil)
}

// DropItems removes the items whose drop[i] is true, counting each under kind
// with the detail text why(i) (e.g. a decode error), and updates the counts.
func (c *Channel) DropItems(drop []bool, kind string, why func(i int) string) {
	kept := c.Items[:0]
	for i, it := range c.Items {
		if i < len(drop) && drop[i] {
			name := it.Path
			if name == "" {
				name = it.Name()
			}
			if why != nil {
				if w := why(i); w != "" {
					name += " (" + w + ")"
				}
			}
			c.Report.Add(kind, name)
			continue
		}
		kept = append(kept, it)
	}
	c.Items = kept
	c.recount()
}

// VerifyImages decodes every item's image with workers goroutines (0 means
// GOMAXPROCS) and drops the unreadable ones, counted as unreadable_image.
// It returns the NoneUsableError when none is left.
func (c *Channel) VerifyImages(ctx context.Context, workers int) error {
	if c.Source != SourceImages {
		return nil
	}
	bad := make([]string, len(c.Items))
	err := ForEach(ctx, len(c.Items), workers, func(i int) {
		if err := VerifyImage(filepath.Join(c.Dir, filepath.FromSlash(c.Items[i].Path))); err != nil {
			bad[i] = err.Error()
		}
	})
	if err != nil {
		return err
	}
	drop := make([]bool, len(bad))
	for i, b := range bad {
		drop[i] = b != ""
	}
	c.DropItems(drop, KindUnreadableImage, func(i int) string { return bad[i] })
	if len(c.Items) == 0 {
		return c.NoneUsableError()
	}
	return nil
}

// ForEach runs fn(0..n-1) on workers goroutines (0 means GOMAXPROCS) and
// stops early with ctx's error when ctx is cancelled.
func ForEach(ctx context.Context, n, workers int, fn func(i int)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(n, 1))
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	var err error
feed:
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	return err
}

func (c *Channel) recount() {
	c.Report.Usable = len(c.Items)
	c.Report.Labels = map[string]int{}
	for _, it := range c.Items {
		c.Report.Labels[it.Label]++
	}
}

func findMetadata(dir, metadataFile string) (string, error) {
	if metadataFile != "" {
		p := metadataFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", errs.Configuration("metadata file "+excerpt.Clean(p, 256)+" does not exist", "give the path of metadata.csv or metadata.json", err)
		}
		if !st.Mode().IsRegular() {
			return "", errs.Configuration("metadata file "+excerpt.Clean(p, 256)+" is not a regular file", "give the path of a metadata.csv or metadata.json file (not a folder, device or pipe)", nil)
		}
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", errs.Configuration("cannot read the channel folder "+dir, "check its permissions", err)
	}
	for _, want := range []string{"metadata.csv", "metadata.json"} {
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(e.Name(), want) {
				p := filepath.Join(dir, e.Name())
				if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
					return "", errs.Configuration(e.Name()+" in "+excerpt.Clean(dir, 256)+" is not a regular file", "make it a plain CSV or JSON file", err)
				}
				return p, nil
			}
		}
	}
	return "", errs.Configuration("no metadata.csv or metadata.json in "+dir,
		"add metadata.csv with a header filename,age_years,subject,expert_label and one line per drawing", nil)
}

func relOrSelf(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// listImages returns the image files under dir, '/'-separated relative
// paths in lexical order; hidden files and folders are left out.
func listImages(dir string) ([]string, error) {
	var out []string
	// WalkDir does not enter a root that is a symlink (SageMaker and the
	// local backend may hand us a linked channel folder): walk its target.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // an unreadable subfolder is skipped
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !IsImageName(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out, err
}

// normName cleans a metadata filename: '/' separators, no leading "./".
func normName(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), `\`, "/")
	if s == "" {
		return ""
	}
	s = path.Clean(s)
	return strings.TrimPrefix(s, "/")
}

// stem strips an image extension, if the name has one.
func stem(s string) string {
	if IsImageName(s) {
		return strings.TrimSuffix(s, path.Ext(s))
	}
	return s
}

type imageIndex struct {
	exact                          map[string]int
	base, relStem, baseStem        map[string][]int
	lRel, lBase, lRelStem, lBaseSt map[string][]int
}

func newImageIndex(images []string) *imageIndex {
	ix := &imageIndex{exact: map[string]int{}, base: map[string][]int{}, relStem: map[string][]int{}, baseStem: map[string][]int{},
		lRel: map[string][]int{}, lBase: map[string][]int{}, lRelStem: map[string][]int{}, lBaseSt: map[string][]int{}}
	for i, rel := range images {
		b := path.Base(rel)
		ix.exact[rel] = i
		ix.base[b] = append(ix.base[b], i)
		ix.relStem[stem(rel)] = append(ix.relStem[stem(rel)], i)
		ix.baseStem[stem(b)] = append(ix.baseStem[stem(b)], i)
		l, lb := strings.ToLower(rel), strings.ToLower(b)
		ix.lRel[l] = append(ix.lRel[l], i)
		ix.lBase[lb] = append(ix.lBase[lb], i)
		ix.lRelStem[stem(l)] = append(ix.lRelStem[stem(l)], i)
		ix.lBaseSt[stem(lb)] = append(ix.lBaseSt[stem(lb)], i)
	}
	return ix
}

// lookup returns the image index for a row name, -1 when none matches, and
// -2 when several match at the first rule that finds any.
func (ix *imageIndex) lookup(name string) int {
	if i, ok := ix.exact[name]; ok {
		return i
	}
	hasDir := strings.Contains(name, "/")
	l := strings.ToLower(name)
	steps := []struct {
		m   map[string][]int
		key string
		any bool // applies to names with a folder too
	}{
		{ix.base, name, false},
		{ix.relStem, stem(name), true},
		{ix.baseStem, stem(name), false},
		{ix.lRel, l, true},
		{ix.lBase, l, false},
		{ix.lRelStem, stem(l), true},
		{ix.lBaseSt, stem(l), false},
	}
	for _, s := range steps {
		if hasDir && !s.any {
			continue
		}
		switch c := s.m[s.key]; len(c) {
		case 0:
		case 1:
			return c[0]
		default:
			return -2
		}
	}
	return -1
}

func matchImages(ch *Channel, md *Metadata, images []string) {
	rep := ch.Report
	claimed := make([]bool, len(images))
	for _, p := range pairRows(md.Rows, images, rep) {
		claimed[p.image] = true
		ch.Items = append(ch.Items, Item{Row: md.Rows[p.row], Path: images[p.image]})
	}
	for i, rel := range images {
		if !claimed[i] {
			rep.Add(KindImageWithoutRow, rel)
		}
	}
}

// RowsForImages gives each image (a path as the user wrote it) the metadata
// row that names it, by the trainer's own matching rules (pairRows), or nil
// when no row picks it. sagetrain score uses it for --metadata.
func RowsForImages(rows []Row, images []string) []*Row {
	names := make([]string, len(images))
	for i, img := range images {
		names[i] = normName(filepath.ToSlash(img))
	}
	out := make([]*Row, len(images))
	for _, p := range pairRows(rows, names, nil) {
		out[p.image] = &rows[p.row]
	}
	return out
}

// rowImage is a row (index in the rows) and the image (index in the
// images) it names.
type rowImage struct{ row, image int }

// pairRows matches metadata rows to images (slash paths): each row takes
// the one image its name picks (imageIndex.lookup), in row order. A row
// repeating an earlier name, picking no image, several, or one an earlier
// row took, is reported to rep (nil: not reported) and takes none.
func pairRows(rows []Row, images []string, rep *Report) []rowImage {
	add := func(kind, name string) {
		if rep != nil {
			rep.Add(kind, name)
		}
	}
	ix := newImageIndex(images)
	claimedBy := make([]int, len(images)) // line+1 of the row that took it
	seen := map[string]int{}
	var out []rowImage
	for r, row := range rows {
		name := normName(row.Filename)
		if first, dup := seen[name]; dup {
			add(KindDuplicateName, fmt.Sprintf("%s (line %d, first at line %d)", row.Filename, row.Line, first))
			continue
		}
		seen[name] = row.Line
		i := ix.lookup(name)
		switch {
		case i == -1:
			add(KindRowWithoutImage, row.Filename)
			continue
		case i == -2:
			add(KindAmbiguousImage, row.Filename)
			continue
		case claimedBy[i] != 0:
			add(KindDuplicateName, fmt.Sprintf("%s (line %d, same image %s as line %d)", row.Filename, row.Line, images[i], claimedBy[i]))
			continue
		}
		claimedBy[i] = row.Line
		out = append(out, rowImage{r, i})
	}
	return out
}

func scanEmbeddings(ch *Channel, md *Metadata, npyPath string) {
	rep := ch.Report
	f, err := os.Open(npyPath)
	var m *Matrix
	if err == nil {
		m, err = ReadNPY(f)
		f.Close()
	}
	if err != nil {
		rep.Add(KindBadEmbeddings, EmbeddingsFile+": "+err.Error())
		return
	}
	rep.EmbeddingRows, rep.EmbeddingDim = m.Rows, m.Cols
	ch.Dim = m.Cols
	seen := map[string]int{}
	for _, row := range md.Rows {
		if row.Pos >= m.Rows {
			rep.Add(KindRowWithoutEmbedding, fmt.Sprintf("%s (row %d of %d)", row.Name(), row.Pos+1, m.Rows))
			continue
		}
		if row.Filename != "" {
			name := normName(row.Filename)
			if first, dup := seen[name]; dup {
				rep.Add(KindDuplicateName, fmt.Sprintf("%s (line %d, first at line %d)", row.Filename, row.Line, first))
				continue
			}
			seen[name] = row.Line
		}
		v := m.Row(row.Pos)
		finite := true
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				finite = false
				break
			}
		}
		if !finite {
			rep.Add(KindNonFiniteEmbedding, fmt.Sprintf("%s (row %d)", row.Name(), row.Pos+1))
			continue
		}
		ch.Items = append(ch.Items, Item{Row: row, Vector: v})
	}
	if m.Rows > md.Records {
		rep.AddN(KindEmbeddingWithoutRow, m.Rows-md.Records, fmt.Sprintf("rows %d..%d", md.Records+1, m.Rows))
	}
}
