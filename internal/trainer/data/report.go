package data

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sagetrain/sagetrain/internal/excerpt"
)

// Problem kinds. Each is one rule of the data contract; the Report counts
// the items that broke it and keeps the first few names.
const (
	KindMalformedLine       = "malformed_line"
	KindMissingFilename     = "missing_filename"
	KindBadAge              = "bad_age"
	KindAgeOutOfRange       = "age_out_of_range"
	KindBadLabel            = "bad_label"
	KindDuplicateName       = "duplicate_name"
	KindRowWithoutImage     = "row_without_image"
	KindAmbiguousImage      = "ambiguous_image"
	KindImageWithoutRow     = "image_without_row"
	KindUnreadableImage     = "unreadable_image"
	KindBadEmbeddings       = "bad_embeddings"
	KindRowWithoutEmbedding = "row_without_embedding"
	KindEmbeddingWithoutRow = "embedding_without_row"
	KindNonFiniteEmbedding  = "non_finite_embedding"
	KindUnknownSubject      = "unknown_subject"
	KindIgnoredImages       = "ignored_images"
)

// kindInfo says, per kind, whether its items are left out and what to do.
var kindInfo = map[string]struct {
	order   int
	skipped bool
	text    string
}{
	KindMalformedLine:       {1, true, "metadata line or entry that cannot be parsed (wrong number of fields, broken quotes, not an object); fix the line, it was skipped"},
	KindMissingFilename:     {2, true, "row with an empty filename; give every row the image's file name"},
	KindBadAge:              {3, true, "age_years is empty or not a number; write the age in years, e.g. 7 or 7.5"},
	KindAgeOutOfRange:       {4, true, "age_years outside 2..18 (floor of the age must be 2 to 18); correct the age or remove the row"},
	KindBadLabel:            {5, true, "expert_label is not normal, concern or severe (empty means normal); correct the label"},
	KindDuplicateName:       {6, true, "filename already used by an earlier row (or the same image matched twice); the later row was skipped, keep one row per image"},
	KindRowWithoutImage:     {7, true, "row whose filename matches no image file in the channel folder; add the image or fix the name"},
	KindAmbiguousImage:      {8, true, "row whose name matches several image files (same base name in different folders or with different extensions); use the relative path"},
	KindImageWithoutRow:     {9, true, "image file that no metadata row names; add a row for it or remove it"},
	KindUnreadableImage:     {10, true, "image that cannot be decoded (corrupt, truncated, too large or not really png/jpeg/bmp); re-export it"},
	KindBadEmbeddings:       {11, true, "embeddings.npy cannot be used (not NumPy format, not a float32 [rows, dim] array); save it with numpy.save(path, array.astype('float32'))"},
	KindRowWithoutEmbedding: {12, true, "metadata row past the last row of embeddings.npy; rows must be aligned one to one"},
	KindEmbeddingWithoutRow: {13, true, "embeddings.npy row past the last metadata row; rows must be aligned one to one"},
	KindNonFiniteEmbedding:  {14, true, "embedding row with NaN or infinite values; recompute it"},
	KindUnknownSubject:      {15, false, "subject not in the known list; used as 'unspecified' (index 0), the row was kept"},
	KindIgnoredImages:       {16, false, "image files ignored because the channel has embeddings.npy; the embeddings were used"},
}

// MaxExamples is how many names a Problem keeps.
const MaxExamples = 5

// Problem counts the items of one kind and names the first few.
type Problem struct {
	Kind        string   `json:"kind"`
	Skipped     bool     `json:"skipped"` // false: only a notice, the items were kept
	Count       int      `json:"count"`
	Examples    []string `json:"examples"`
	Description string   `json:"description"`
}

// Report is what a channel scan found: counts of what was read and used, and
// every problem with its first names. It is JSON-serialisable as it is.
type Report struct {
	Channel       string         `json:"channel,omitempty"`
	Dir           string         `json:"dir"`
	MetadataFile  string         `json:"metadata_file"`
	Source        string         `json:"source"` // "images" or "embeddings"
	MetadataRows  int            `json:"metadata_rows"`
	ImageFiles    int            `json:"image_files"`
	EmbeddingRows int            `json:"embedding_rows,omitempty"`
	EmbeddingDim  int            `json:"embedding_dim,omitempty"`
	Usable        int            `json:"usable"`
	Skipped       int            `json:"skipped"`
	Labels        map[string]int `json:"labels"` // usable samples per label
	Problems      []*Problem     `json:"problems"`
}

// NewReport returns an empty report for dir.
func NewReport(dir string) *Report {
	return &Report{Dir: dir, Labels: map[string]int{}, Problems: []*Problem{}}
}

// Add counts one item of kind, named name.
func (r *Report) Add(kind, name string) { r.AddN(kind, 1, name) }

// AddN counts n items of kind; name (may be empty) is kept as an example.
func (r *Report) AddN(kind string, n int, name string) {
	if n <= 0 {
		return
	}
	p := r.Problem(kind)
	if p == nil {
		info := kindInfo[kind]
		p = &Problem{Kind: kind, Skipped: info.skipped, Description: info.text, Examples: []string{}}
		if info.text == "" {
			p.Skipped, p.Description = true, kind
		}
		r.Problems = append(r.Problems, p)
		sort.SliceStable(r.Problems, func(i, j int) bool {
			return kindInfo[r.Problems[i].Kind].order < kindInfo[r.Problems[j].Kind].order
		})
	}
	p.Count += n
	if p.Skipped {
		r.Skipped += n
	}
	if name != "" && len(p.Examples) < MaxExamples {
		// Examples come from user data: short and escaped (see excerpt).
		p.Examples = append(p.Examples, excerpt.Clean(name, 2*excerpt.Max))
	}
}

// Problem returns the problem of kind, or nil when there is none.
func (r *Report) Problem(kind string) *Problem {
	for _, p := range r.Problems {
		if p.Kind == kind {
			return p
		}
	}
	return nil
}

// Count returns how many items of kind were found.
func (r *Report) Count(kind string) int {
	if p := r.Problem(kind); p != nil {
		return p.Count
	}
	return 0
}

// Lines renders the report for a log: a summary line, then one per problem.
func (r *Report) Lines() []string {
	name := r.Channel
	if name == "" {
		name = r.Dir
	}
	lines := []string{fmt.Sprintf("data %s: %d usable samples (%s) from %d metadata rows, %d image files; %d items skipped",
		name, r.Usable, r.labelSummary(), r.MetadataRows, r.ImageFiles, r.Skipped)}
	for _, p := range r.Problems {
		verb := "skipped"
		if !p.Skipped {
			verb = "notice"
		}
		lines = append(lines, fmt.Sprintf("  %s %s: %d (e.g. %s): %s", verb, p.Kind, p.Count, strings.Join(p.Examples, ", "), p.Description))
	}
	return lines
}

func (r *Report) String() string { return strings.Join(r.Lines(), "\n") }

func (r *Report) labelSummary() string {
	keys := make([]string, 0, len(r.Labels))
	for k := range r.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Labels[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// problemSummary names the largest skipped problems, for "nothing usable" errors.
func (r *Report) problemSummary() string {
	ps := make([]*Problem, 0, len(r.Problems))
	for _, p := range r.Problems {
		if p.Skipped {
			ps = append(ps, p)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Count > ps[j].Count })
	parts := []string{}
	for i, p := range ps {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s (e.g. %s)", p.Count, p.Kind, strings.Join(p.Examples, ", ")))
	}
	if len(parts) == 0 {
		return "no rows"
	}
	return strings.Join(parts, "; ")
}
