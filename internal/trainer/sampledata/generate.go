package sampledata

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// Options of Generate; zero values take the defaults.
type Options struct {
	Train       int     // training images (default 1000), all normal
	Test        int     // test images (default 300)
	AnomalyRate float64 // share of test images that are anomalies (default 0.25; negative means none)
	Size        int     // image width and height in px (default 128)
	Seed        uint64  // default 1
	Workers     int     // 0 = GOMAXPROCS; the output does not depend on it
}

// Defaults for Options.
const (
	DefaultTrain       = 1000
	DefaultTest        = 300
	DefaultAnomalyRate = 0.25
	DefaultSize        = 128
	DefaultSeed        = 1
)

func (o Options) withDefaults() Options {
	if o.Train == 0 {
		o.Train = DefaultTrain
	}
	if o.Test == 0 {
		o.Test = DefaultTest
	}
	if o.AnomalyRate == 0 {
		o.AnomalyRate = DefaultAnomalyRate
	}
	if o.AnomalyRate < 0 {
		o.AnomalyRate = 0
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	return o
}

// ChannelSummary counts one written channel.
type ChannelSummary struct {
	Dir      string         `json:"dir"`
	Images   int            `json:"images"`
	Labels   map[string]int `json:"labels"`
	Subjects map[string]int `json:"subjects"`
	Kinds    map[string]int `json:"kinds"` // anomaly kinds ("" = normal is left out)
}

// Summary is what Generate wrote.
type Summary struct {
	Dir         string         `json:"dir"`
	Size        int            `json:"size"`
	Seed        uint64         `json:"seed"`
	AnomalyRate float64        `json:"anomaly_rate"`
	Training    ChannelSummary `json:"training"`
	Test        ChannelSummary `json:"test"`
}

// Generate writes dir/training and dir/test, each with metadata.csv and
// PNG images under images/. The same options give the same bytes.
func Generate(dir string, opts Options) (*Summary, error) {
	o := opts.withDefaults()
	if o.Train < 0 || o.Test < 0 || o.Train+o.Test == 0 {
		return nil, errs.Configuration("sample data needs at least one image", "set --train and --test to positive counts", nil)
	}
	if o.Size < 16 || o.Size > 4096 {
		return nil, errs.Configuration(fmt.Sprintf("image size %d px is out of range", o.Size), "use a size from 16 to 4096", nil)
	}
	if o.AnomalyRate > 1 {
		return nil, errs.Configuration(fmt.Sprintf("anomaly rate %g is above 1", o.AnomalyRate), "give a share from 0 to 1, e.g. 0.25", nil)
	}
	s := &Summary{Dir: dir, Size: o.Size, Seed: o.Seed, AnomalyRate: o.AnomalyRate}
	var err error
	if s.Training, err = writeChannel(filepath.Join(dir, "training"), "train", o.Train, 0, o, 1); err != nil {
		return nil, err
	}
	if s.Test, err = writeChannel(filepath.Join(dir, "test"), "test", o.Test, o.AnomalyRate, o, 2); err != nil {
		return nil, err
	}
	return s, nil
}

type sampleSpec struct {
	file, kind, subject, anomaly string
	age                          float64
}

// plan decides each image's subject, age and anomaly from the channel's own
// random stream; each image is then drawn from its own stream, so the
// output is the same for any number of workers.
func plan(prefix string, count int, rate float64, seed uint64, stream uint64) []sampleSpec {
	rng := rand.New(rand.NewPCG(seed, stream))
	specs := make([]sampleSpec, count)
	nAnom := int(math.Round(rate * float64(count)))
	isAnom := make([]bool, count)
	for _, i := range rng.Perm(count)[:nAnom] {
		isAnom[i] = true
	}
	kinds := []string{anomalyMissing, anomalyBroken, anomalyScribble, anomalyFragmented}
	for i := range specs {
		sj := subjects[rng.IntN(len(subjects))]
		age := math.Round((2+rng.Float64()*16.99)*10) / 10
		age = math.Min(age, 18.9)
		a := anomalyNone
		if isAnom[i] {
			a = kinds[rng.IntN(len(kinds))]
		}
		specs[i] = sampleSpec{file: fmt.Sprintf("%s_%05d.png", prefix, i+1), kind: sj.kind, subject: sj.subject, anomaly: a, age: age}
	}
	return specs
}

func writeChannel(dir, prefix string, count int, rate float64, o Options, stream uint64) (ChannelSummary, error) {
	cs := ChannelSummary{Dir: dir, Images: count, Labels: map[string]int{}, Subjects: map[string]int{}, Kinds: map[string]int{}}
	imgDir := filepath.Join(dir, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return cs, errs.Configuration("cannot create "+imgDir, "choose a writable folder", err)
	}
	specs := plan(prefix, count, rate, o.Seed, stream)
	errsOut := make([]error, count)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	workers := o.Workers
	if workers <= 0 {
		// creating files is slow on some file systems and waits in the
		// kernel, so keep more goroutines than cores busy
		workers = 2 * runtime.GOMAXPROCS(0)
	}
	err := data.ForEach(context.Background(), count, workers, func(i int) {
		sp := specs[i]
		rng := rand.New(rand.NewPCG(o.Seed, stream<<32|uint64(i+1)))
		img := drawing(rng, o.Size, sp.kind, sp.age, sp.anomaly)
		var buf bytes.Buffer
		if err := enc.Encode(&buf, img); err != nil {
			errsOut[i] = err
			return
		}
		errsOut[i] = os.WriteFile(filepath.Join(imgDir, sp.file), buf.Bytes(), 0o644)
	})
	if err != nil {
		return cs, err
	}
	for _, e := range errsOut {
		if e != nil {
			return cs, errs.Configuration("cannot write sample images to "+imgDir, "check free space and permissions", e)
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"filename", "age_years", "subject", "expert_label", "drawing", "anomaly"})
	for _, sp := range specs {
		label := labelOf(sp.anomaly)
		w.Write([]string{sp.file, strconv.FormatFloat(sp.age, 'f', 1, 64), sp.subject, label, sp.kind, sp.anomaly})
		cs.Labels[label]++
		cs.Subjects[sp.subject]++
		if sp.anomaly != "" {
			cs.Kinds[sp.anomaly]++
		}
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, "metadata.csv"), buf.Bytes(), 0o644); err != nil {
		return cs, errs.Configuration("cannot write "+filepath.Join(dir, "metadata.csv"), "check free space and permissions", err)
	}
	return cs, nil
}
