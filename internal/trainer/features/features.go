package features

import (
	"context"
	"fmt"
	"image"
	"path/filepath"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// Feature kinds of a Set.
const (
	KindDescriptor = "descriptor"
	KindEmbeddings = "embeddings"
)

// SubjectDim is the width of the subject one-hot.
const SubjectDim = 64

// Sample is one usable drawing and its feature vector.
type Sample struct {
	Name     string  // image path relative to the channel (or the metadata name / "line N" for embeddings)
	AgeYears float64 // 2 <= age < 19
	Subject  string  // as written in the metadata
	Label    string  // "normal", "concern" or "severe"
	X        []float32
	// Warped are the descriptors of Options.Warps copies of a normal
	// drawing (WarpedVectors), in Warps order; nil otherwise.
	Warped [][]float32
	// FullCopy is the index in Warped of the copy that recomputed every
	// block (Options.FullCopy); -1 when none did.
	FullCopy int
	// Item is the sample's index among the channel's scanned items (before
	// unreadable images were dropped); the full copy is Item mod len(Warps).
	Item int
}

// Set is a loaded channel.
type Set struct {
	Channel string       // the folder's base name, e.g. "training"
	Kind    string       // KindDescriptor or KindEmbeddings
	Dim     int          // len(X) of every sample
	Samples []Sample     // metadata order
	Report  *data.Report // what was read and what was skipped, JSON-serialisable
}

// Options tune LoadChannel.
type Options struct {
	Workers int // image decoding and description goroutines; 0 = GOMAXPROCS
	// Warps: also describe these copies of each normal drawing (Sample.Warped).
	Warps []Warp
	// FullCopy: one copy of each normal drawing recomputes every block
	// (VectorWarpedFull), not only the kNN distance's: the i-th drawing's
	// copy i mod len(Warps), so every warp has its share (Sample.FullCopy).
	FullCopy bool
	// WarpOnly, when set, chooses which scanned items (metadata order) get
	// the Warps copies; nil: every normal one. The trainer leaves out the
	// rows its split will send to validation and test (their copies would
	// go unused: a copy costs about as much as the drawing's own describe).
	// A normal sample left out can get its copies later with AddWarps.
	WarpOnly func(items []data.Item) []bool
}

// Settings describe the feature extraction a model was fitted on; recorded
// in model.json so scoring extracts the same way (and refuses to mix).
type Settings struct {
	Kind         string  `json:"kind"`                 // KindDescriptor or KindEmbeddings
	Version      int     `json:"version"`              // descriptor version (0 for embeddings)
	Dim          int     `json:"dim"`                  // full vector width (visual + subject)
	VisualDim    int     `json:"visual_dim"`           // descriptor part
	SubjectDim   int     `json:"subject_dim"`          // one-hot part
	FrameSize    int     `json:"frame_size,omitempty"` // px: whole drawing fitted to a square
	ShapeSize    int     `json:"shape_size,omitempty"` // px: drawing cropped to its marks
	InkThreshold float64 `json:"ink_threshold,omitempty"`
	HOGBins      int     `json:"hog_bins,omitempty"`
	Blocks       []Block `json:"blocks,omitempty"` // the descriptor's parts in order
}

// VisualDim is the descriptor's width.
var VisualDim, descriptorBlocks = func() (int, []Block) {
	d := &builder{}
	describe(newFrame(image.NewGray(image.Rect(0, 0, 8, 8)), frameSize), d)
	return len(d.v), d.blocks
}()

// CurrentSettings returns the settings of this build's image descriptor.
func CurrentSettings() Settings {
	return Settings{Kind: KindDescriptor, Version: DescriptorVersion, Dim: VisualDim + SubjectDim,
		VisualDim: VisualDim, SubjectDim: SubjectDim, FrameSize: frameSize, ShapeSize: shapeSize,
		InkThreshold: inkThreshold, HOGBins: hogBins, Blocks: append([]Block(nil), descriptorBlocks...)}
}

// EmbeddingSettings returns the settings of a model fitted on embeddings of width dim.
func EmbeddingSettings(dim int) Settings {
	return Settings{Kind: KindEmbeddings, Dim: dim, VisualDim: dim}
}

// Compatible reports whether vectors made with s can be scored by a model
// fitted with want, and if not, why.
func (s Settings) Compatible(want Settings) error {
	if s.Kind != want.Kind || s.Version != want.Version || s.Dim != want.Dim {
		return errs.Configuration(fmt.Sprintf("features %s v%d (%d values) do not match the model's %s v%d (%d values)",
			s.Kind, s.Version, s.Dim, want.Kind, want.Version, want.Dim),
			"score with the sagetrain version that trained the model, or retrain", nil)
	}
	return nil
}

// SubjectIndex maps a subject to its one-hot index (DESIGN.md table);
// unknown or empty subjects give 0, case-insensitively.
func SubjectIndex(subject string) int { return data.SubjectIndex(subject) }

// Vector describes a decoded image and appends the subject one-hot.
func Vector(img image.Image, subject string) []float32 {
	v := descriptor(img)
	n := len(v)
	x := append(v, make([]float32, SubjectDim)...) // within capacity: no copy
	x[n+SubjectIndex(subject)] = 1
	return x
}

// ImageFileVector decodes one image file and returns its descriptor joined
// with the subject one-hot, exactly as LoadChannel does for a channel.
func ImageFileVector(path, subject string) ([]float32, error) {
	img, err := data.DecodeImage(path)
	if err != nil {
		return nil, errs.Configuration("cannot read image "+path, "give a png, jpeg or bmp file that opens in an image viewer", err)
	}
	return Vector(img, subject), nil
}

// LoadChannel scans a channel folder (see data.Scan), then describes every
// matched image on opts.Workers goroutines (results in metadata order,
// identical for any worker count) or takes the embeddings rows as they
// are. Unreadable images are skipped and counted in the Report. When nothing
// usable is left it returns an errs.Configuration error saying what to fix
// (and the Set with its Report, when the folder could be scanned).
func LoadChannel(ctx context.Context, dir string, opts Options) (*Set, error) {
	ch, err := data.Scan(dir, "")
	if ch == nil {
		return nil, err
	}
	name := filepath.Base(filepath.Clean(dir))
	ch.Report.Channel = name
	set := &Set{Channel: name, Report: ch.Report}
	if err != nil {
		if ch.Source == data.SourceEmbeddings {
			set.Kind = KindEmbeddings
		} else {
			set.Kind = KindDescriptor
		}
		return set, err
	}
	if ch.Source == data.SourceEmbeddings {
		set.Kind, set.Dim = KindEmbeddings, ch.Dim
		set.Samples = make([]Sample, len(ch.Items))
		for i, it := range ch.Items {
			set.Samples[i] = Sample{Name: it.Name(), AgeYears: it.AgeYears, Subject: it.Subject, Label: it.Label, X: it.Vector, FullCopy: -1, Item: i}
		}
		return set, nil
	}
	set.Kind, set.Dim = KindDescriptor, VisualDim+SubjectDim
	xs := make([][]float32, len(ch.Items))
	warped := make([][][]float32, len(ch.Items))
	fullCopy := make([]int, len(ch.Items))
	bad := make([]string, len(ch.Items))
	warp := make([]bool, len(ch.Items))
	for i, it := range ch.Items {
		warp[i] = it.Label == "normal" && len(opts.Warps) > 0
	}
	if opts.WarpOnly != nil {
		only := opts.WarpOnly(ch.Items)
		for i := range warp {
			warp[i] = warp[i] && i < len(only) && only[i]
		}
	}
	err = data.ForEach(ctx, len(ch.Items), opts.Workers, func(i int) {
		if ctx.Err() != nil {
			return
		}
		it := ch.Items[i]
		img, err := data.DecodeImage(filepath.Join(dir, filepath.FromSlash(it.Path)))
		if err != nil {
			bad[i] = err.Error()
			return
		}
		fullCopy[i] = -1
		if warp[i] {
			fullCopy[i] = opts.fullCopyOf(i)
			xs[i], warped[i] = VectorWarpedFull(img, it.Subject, opts.Warps, fullCopy[i])
		} else {
			xs[i] = Vector(img, it.Subject)
		}
	})
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(bad))
	for i, b := range bad {
		drop[i] = b != ""
	}
	items := ch.Items
	kept := make([][]float32, 0, len(xs))
	var keptWarped [][][]float32
	var keptFull, keptItem []int
	for i := range items {
		if !drop[i] {
			kept = append(kept, xs[i])
			keptWarped = append(keptWarped, warped[i])
			keptFull = append(keptFull, fullCopy[i])
			keptItem = append(keptItem, i)
		}
	}
	ch.DropItems(drop, data.KindUnreadableImage, func(i int) string { return bad[i] })
	if len(ch.Items) == 0 {
		return set, ch.NoneUsableError()
	}
	set.Samples = make([]Sample, len(ch.Items))
	for i, it := range ch.Items {
		set.Samples[i] = Sample{Name: it.Path, AgeYears: it.AgeYears, Subject: it.Subject, Label: it.Label, X: kept[i], Warped: keptWarped[i], FullCopy: keptFull[i], Item: keptItem[i]}
	}
	return set, nil
}

// fullCopyOf is the index of item i's full copy among the Warps (-1: none).
func (o Options) fullCopyOf(i int) int {
	if !o.FullCopy || len(o.Warps) == 0 {
		return -1
	}
	return i % len(o.Warps)
}

// AddWarps gives the normal samples of a descriptor set that have no
// Warped copies theirs (the same values LoadChannel would have given),
// reading their images from dir again; it returns how many it described.
// It completes a load whose WarpOnly guess missed a sample.
func AddWarps(ctx context.Context, dir string, samples []Sample, opts Options) (int, error) {
	if len(opts.Warps) == 0 {
		return 0, nil
	}
	var todo []int
	for i, s := range samples {
		if s.Label == "normal" && s.Warped == nil {
			todo = append(todo, i)
		}
	}
	errsAt := make([]error, len(todo))
	err := data.ForEach(ctx, len(todo), opts.Workers, func(k int) {
		if ctx.Err() != nil {
			return
		}
		s := &samples[todo[k]]
		img, err := data.DecodeImage(filepath.Join(dir, filepath.FromSlash(s.Name)))
		if err != nil {
			errsAt[k] = err
			return
		}
		s.FullCopy = opts.fullCopyOf(s.Item)
		_, s.Warped = VectorWarpedFull(img, s.Subject, opts.Warps, s.FullCopy)
	})
	if err != nil {
		return 0, err
	}
	for k, e := range errsAt {
		if e != nil {
			return 0, errs.Configuration("cannot read image "+samples[todo[k]].Name+" again for its warped copies", "keep the training channel unchanged while the job runs", e)
		}
	}
	return len(todo), nil
}
