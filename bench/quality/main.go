package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

var (
	flagTask     = flag.String("task", "oneclass", "oneclass, ageband, all, or knn (the quick descriptor loop: kNN only, no training)")
	flagClasses  = flag.String("classes", "0,1,2,3,4", "classes, each one-vs-rest against the others of this list")
	flagOnly     = flag.String("only", "", "one-class task: run only these classes of -classes (their anomalies stay the others of -classes)")
	flagPairs    = flag.String("pairs", "0:2", "age-band pairs: class of ages 3-7 : class of ages 8-12")
	flagPerYear  = flag.String("per-year", "50,100", "age-band training normals per year")
	flagModes    = flag.String("modes", "per-age,pooled", "age-band trainer runs: per-age (default groups), pooled (one group)")
	flagScan     = flag.Bool("scan", true, "measure the scan changes (one-class task)")
	flagPy       = flag.String("py", "/usr/bin/python3", "Python with scikit-learn (Debian's python3-sklearn)")
	flagHP       = flag.String("hp", "", "extra hyperparameters k=v,k=v for the trainer (default recipe when empty)")
	flagKeep     = flag.String("keep", "", "keep the work folder here")
	flagKNNRot   = flag.String("knn-rot", "", "-task knn: rotations (degrees) of the reference copies, e.g. -10,-5,5,10")
	flagKNNScale = flag.String("knn-scale", "", "-task knn: scales of the reference copies, e.g. 0.9,1.1")
	flagBlocks   = flag.String("blocks", "norm_ink_grid_3x3,norm_ink_grid_4x4,norm_ink_grid_8x8,shape_ink_grid_3x3,shape_ink_grid_4x4,shape_ink_grid_8x8,shape_hog_1x1,shape_hog_2x2,shape_hog_4x4,norm_hog_1x1,norm_hog_2x2,norm_hog_4x4", "-task knn: descriptor blocks of the distance (all = every block)")
)

func main() {
	flag.Parse()
	tr, err := loadSplit("train")
	check(err)
	te, err := loadSplit("t10k")
	check(err)
	fmt.Printf("load: %s\n", loadavg())
	if *flagTask == "oneclass" || *flagTask == "all" {
		classes := ints(*flagClasses)
		var sum float64
		run := classes
		if *flagOnly != "" {
			run = ints(*flagOnly)
		}
		for _, c := range run {
			sum += oneClass(tr, te, c, classes)
		}
		fmt.Printf("mean trainer AUROC over classes %v: %.4f\n", run, sum/float64(len(run)))
	}
	if *flagTask == "knn" {
		knnDev(tr, te, ints(*flagClasses), strings.Split(*flagBlocks, ","))
	}
	if *flagTask == "ageband" || *flagTask == "all" {
		for _, p := range strings.Split(*flagPairs, ",") {
			ab := ints(strings.ReplaceAll(p, ":", ","))
			for _, n := range ints(*flagPerYear) {
				ageBand(tr, te, ab[0], ab[1], n)
			}
		}
	}
	fmt.Printf("load: %s\n", loadavg())
}

// item is one image of a channel.
type item struct {
	px    []byte
	age   float64
	label string // normal | concern
	kind  string // normal | other-class | wrong-age
	class int
}

func workDir(name string) string {
	if *flagKeep != "" {
		d := filepath.Join(*flagKeep, name)
		check(os.RemoveAll(d))
		check(os.MkdirAll(d, 0o755))
		return d
	}
	d, err := os.MkdirTemp("", "quality-"+name+"-")
	check(err)
	return d
}

// writeChannel renders items into dir (images/ + metadata.csv) and writes
// raw.npy (28×28 pixels / 255) next to it for the baselines.
func writeChannel(dir string, items []item, sc scan) []string {
	check(os.MkdirAll(filepath.Join(dir, "images"), 0o755))
	var csv strings.Builder
	csv.WriteString("filename,age_years,subject,expert_label\n")
	raw := &data.Matrix{Cols: 784}
	paths := make([]string, len(items))
	for i, it := range items {
		name := fmt.Sprintf("i%05d.png", i)
		paths[i] = filepath.Join(dir, "images", name)
		check(writePNG(paths[i], render(it.px, sc)))
		fmt.Fprintf(&csv, "%s,%g,,%s\n", name, it.age, it.label)
		for _, v := range it.px {
			raw.Data = append(raw.Data, float32(v)/255)
		}
		raw.Rows++
	}
	check(os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte(csv.String()), 0o644))
	writeNPY(filepath.Join(dir, "raw.npy"), raw)
	return paths
}

func writeNPY(path string, m *data.Matrix) {
	var b bytes.Buffer
	check(data.WriteNPY(&b, m))
	check(os.WriteFile(path, b.Bytes(), 0o644))
}

func writeMeta(path string, v any) {
	b, _ := json.Marshal(v)
	check(os.WriteFile(path, b, 0o644))
}

// train runs `sagetrain train` in-process on root and returns its wall time.
func train(root string, hp map[string]string) time.Duration {
	cfg := filepath.Join(root, "input", "config")
	check(os.MkdirAll(cfg, 0o755))
	for _, kv := range strings.Split(*flagHP, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			hp[k] = v
		}
	}
	writeMeta(filepath.Join(cfg, "hyperparameters.json"), hp)
	var log bytes.Buffer
	t0 := time.Now()
	err := trainer.Run(context.Background(), root, &log)
	d := time.Since(t0)
	check(os.WriteFile(filepath.Join(root, "train.log"), log.Bytes(), 0o644))
	if err != nil {
		check(fmt.Errorf("%w\n%s", err, log.String()))
	}
	return d
}

func scoreAll(m *trainer.Model, paths []string, items []item) []trainer.Score {
	out := make([]trainer.Score, len(paths))
	for i, p := range paths {
		s, err := m.ScoreImage(p, "", items[i].age)
		check(err)
		out[i] = s
	}
	return out
}

// descriptors writes desc.npy (visual part of the descriptor) of the rendered images.
func descriptors(dir string, paths []string) time.Duration {
	t0 := time.Now()
	m := &data.Matrix{Cols: features.VisualDim}
	for _, p := range paths {
		x, err := features.ImageFileVector(p, "")
		check(err)
		m.Data = append(m.Data, x[:features.VisualDim]...)
		m.Rows++
	}
	d := time.Since(t0)
	writeNPY(filepath.Join(dir, "desc.npy"), m)
	return d
}

func oneClass(tr, te split, c int, classes []int) float64 {
	w := workDir(fmt.Sprintf("class%d", c))
	defer func() {
		if *flagKeep == "" {
			os.RemoveAll(w)
		}
	}()
	var trainItems, testItems []item
	for _, i := range tr.ofClass(c, 0, 2000) {
		trainItems = append(trainItems, item{px: tr.img[i], age: 7, label: "normal", kind: "normal", class: c})
	}
	for _, i := range te.ofClass(c, 0, 500) {
		testItems = append(testItems, item{px: te.img[i], age: 7, label: "normal", kind: "normal", class: c})
	}
	var others []int
	for _, o := range classes {
		if o != c {
			others = append(others, o)
		}
	}
	per := 500 / len(others)
	for k, o := range others {
		n := per
		if k == len(others)-1 {
			n = 500 - per*(len(others)-1)
		}
		for _, i := range te.ofClass(o, 0, n) {
			testItems = append(testItems, item{px: te.img[i], age: 7, label: "concern", kind: "other-class", class: o})
		}
	}
	root := filepath.Join(w, "ml")
	trDir, teDir := filepath.Join(root, "input", "data", "training"), filepath.Join(root, "input", "data", "test")
	trPaths := writeChannel(trDir, trainItems, original)
	tePaths := writeChannel(teDir, testItems, original)
	anom := make([]bool, len(testItems))
	for i, it := range testItems {
		anom[i] = it.kind != "normal"
	}
	writeMeta(filepath.Join(w, "task.json"), map[string]any{"anomalous": anom})

	wall := train(root, map[string]string{"loss_plots": "false", "test_split": "0"})
	m, err := trainer.LoadModel(filepath.Join(root, "model"))
	check(err)
	t0 := time.Now()
	orig := scoreAll(m, tePaths, testItems)
	scoreWall := time.Since(t0)
	auc := aucOf(orig, anom, nil)
	fmt.Printf("\n== class %d one-vs-rest (%d train normals, %d test normals, %d other-class), load %s\n", c, len(trainItems), 500, len(testItems)-500, loadavg())
	fmt.Printf("%-34s AUROC %.4f  wall %6.2fs (train, descriptor included); score %d images %.2fs\n", "trainer (default recipe)", auc, wall.Seconds(), len(tePaths), scoreWall.Seconds())
	fmt.Printf("  its parts: autoencoder error alone %.4f, kNN distance alone %.4f\n", partAUC(orig, anom, nil, false), partAUC(orig, anom, nil, true))
	fmt.Printf("  kNN weight of the ensemble:")
	for _, kw := range []float64{0.25, 0.5, 0.75, 0.9, 0.95, 0.97, 1} {
		fmt.Printf(" %.2f: %.4f", kw, mixAUC(orig, anom, kw))
	}
	fmt.Println()

	dTrain := descriptors(trDir, trPaths)
	dTest := descriptors(teDir, tePaths)
	base := baselines("oneclass", w)
	for _, b := range base {
		extra := ""
		if strings.Contains(b.Name, "descriptor") {
			b.Seconds += (dTrain + dTest).Seconds()
			extra = " (descriptor included)"
		}
		mark := ""
		if b.AUROC > auc {
			mark = "  <-- beats the trainer"
		}
		fmt.Printf("%-34s AUROC %.4f  wall %6.2fs%s%s\n", b.Name, b.AUROC, b.Seconds, extra, mark)
	}
	if *flagScan {
		scanChanges(m, w, testItems, orig, anom)
	}
	return auc
}

// scanChanges renders the test set with each change: the AUROC of changed
// normals against the original normals (0.5 = the change is invisible to the
// score; target <= 0.65) and the AUROC of the changed anomalies against the
// changed normals (the anomalies keep theirs).
func scanChanges(m *trainer.Model, w string, items []item, orig []trainer.Score, anom []bool) {
	var on []float64
	for i, s := range orig {
		if !anom[i] {
			on = append(on, s.Score)
		}
	}
	for _, sc := range scans() {
		dir := filepath.Join(w, "scan")
		os.RemoveAll(dir)
		paths := writeChannel(dir, items, sc)
		ss := scoreAll(m, paths, items)
		var cn, ca []float64
		for i, s := range ss {
			if anom[i] {
				ca = append(ca, s.Score)
			} else {
				cn = append(cn, s.Score)
			}
		}
		fmt.Printf("  scan %-18s changed vs original normal AUROC %.3f   anomalies vs changed normals AUROC %.3f\n", sc.Name, auc2(cn, on), auc2(ca, cn))
	}
}

func ageBand(tr, te split, a, b, perYear int) {
	w := workDir(fmt.Sprintf("ageband%d-%d-%d", a, b, perYear))
	defer func() {
		if *flagKeep == "" {
			os.RemoveAll(w)
		}
	}()
	var others []int
	for _, o := range ints(*flagClasses) {
		if o != a && o != b {
			others = append(others, o)
		}
	}
	var trainItems, testItems []item
	used := map[int]int{} // per class: test images taken so far
	take := func(cls, n int) []int {
		idx := te.ofClass(cls, used[cls], n)
		used[cls] += n
		return idx
	}
	for y := 3; y <= 12; y++ {
		cls, other := a, b
		if y >= 8 {
			cls, other = b, a
		}
		age := float64(y) + 0.5
		for _, i := range tr.ofClass(cls, (y-3)%5*perYear, perYear) {
			trainItems = append(trainItems, item{px: tr.img[i], age: age, label: "normal", kind: "normal", class: cls})
		}
		for _, i := range take(cls, 50) {
			testItems = append(testItems, item{px: te.img[i], age: age, label: "normal", kind: "normal", class: cls})
		}
		for _, i := range take(other, 25) {
			testItems = append(testItems, item{px: te.img[i], age: age, label: "concern", kind: "wrong-age", class: other})
		}
		for k := 0; k < 25; k++ {
			o := others[(y+k)%len(others)]
			i := take(o, 1)[0]
			testItems = append(testItems, item{px: te.img[i], age: age, label: "concern", kind: "other-class", class: o})
		}
	}
	anom := make([]bool, len(testItems))
	kinds := make([]string, len(testItems))
	ages := make([]float64, len(testItems))
	for i, it := range testItems {
		anom[i], kinds[i], ages[i] = it.kind != "normal", it.kind, it.age
	}
	trAges := make([]float64, len(trainItems))
	for i, it := range trainItems {
		trAges[i] = it.age
	}
	fmt.Printf("\n== age band: class %d at ages 3-7, class %d at 8-12, %d training normals a year; test a year: 50 normal, 25 wrong-age, 25 other-class (classes %v); load %s\n",
		a, b, perYear, others, loadavg())
	for _, mode := range strings.Split(*flagModes, ",") {
		root := filepath.Join(w, mode)
		_ = writeChannel(filepath.Join(root, "input", "data", "training"), trainItems, original)
		tePaths := writeChannel(filepath.Join(root, "input", "data", "test"), testItems, original)
		hp := map[string]string{"loss_plots": "false", "test_split": "0"}
		if mode == "pooled" {
			hp["min_samples"], hp["max_group_span_years"] = strconv.Itoa(len(trainItems)*3/4), "20" // one group: what is left after the validation split
		}
		wall := train(root, hp)
		m, err := trainer.LoadModel(filepath.Join(root, "model"))
		check(err)
		ss := scoreAll(m, tePaths, testItems)
		var groups []string
		undetermined := 0
		for _, g := range m.Manifest.Groups {
			groups = append(groups, fmt.Sprintf("%s:%s n_cal=%d exp_fpr=%.3f [%.3f,%.3f]", g.Name, g.ThresholdSource, g.Calibration.NCalibration, g.Calibration.ExpectedFPR, g.Calibration.FPRInterval[0], g.Calibration.FPRInterval[1]))
		}
		var fp, nn float64
		for i, s := range ss {
			if s.Verdict == "undetermined" {
				undetermined++
			}
			if !anom[i] {
				nn++
				if s.Anomalous {
					fp++
				}
			}
		}
		fmt.Printf("%-32s AUROC %.4f  wrong-age %.4f  other-class %.4f  held-out FPR %.3f  undetermined %d  wall %.2fs\n",
			"trainer "+mode, aucOf(ss, anom, nil), aucOf(ss, anom, func(i int) bool { return kinds[i] != "other-class" }),
			aucOf(ss, anom, func(i int) bool { return kinds[i] != "wrong-age" }), fp/nn, undetermined, wall.Seconds())
		fmt.Printf("  its parts: autoencoder alone %.4f (wrong-age %.4f), kNN alone %.4f (wrong-age %.4f)\n",
			partAUC(ss, anom, nil, false), partAUC(ss, anom, func(i int) bool { return kinds[i] != "other-class" }, false),
			partAUC(ss, anom, nil, true), partAUC(ss, anom, func(i int) bool { return kinds[i] != "other-class" }, true))
		fmt.Printf("  kNN weight of the ensemble (AUROC / wrong-age):")
		wa := func(i int) bool { return kinds[i] != "other-class" }
		for _, kw := range []float64{0.25, 0.5, 0.75, 0.9, 0.95, 0.97, 1} {
			fmt.Printf(" %.2f: %.4f / %.4f", kw, mixAUCKeep(ss, anom, kw, nil), mixAUCKeep(ss, anom, kw, wa))
		}
		fmt.Println()
		if mode == "per-age" {
			fmt.Printf("  groups: %s\n", strings.Join(groups, "; "))
			writeMeta(filepath.Join(w, "task.json"), map[string]any{"anomalous": anom, "kinds": kinds, "ages": ages, "train_ages": trAges,
				"train": filepath.Join(root, "input", "data", "training"), "test": filepath.Join(root, "input", "data", "test")})
			for _, bl := range baselines("ageband", w) {
				fmt.Printf("%-32s AUROC %.4f  wrong-age %.4f  other-class %.4f  held-out FPR %.3f  wall %.2fs\n", bl.Name, bl.AUROC, bl.WrongAge, bl.OtherClass, bl.FPR, bl.Seconds)
			}
		}
	}
}

type baseline struct {
	Name                 string
	AUROC, Seconds       float64
	WrongAge, OtherClass float64
	FPR                  float64
}

func baselines(task, w string) []baseline {
	script := filepath.Join(srcDir(), "baselines.py")
	cmd := exec.Command(*flagPy, script, task, w)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	var bs []baseline
	check(json.Unmarshal(out, &bs))
	return bs
}

func srcDir() string {
	if _, err := os.Stat("bench/quality/baselines.py"); err == nil {
		return "bench/quality"
	}
	exe, _ := os.Executable()
	return filepath.Dir(exe)
}

func aucOf(ss []trainer.Score, anom []bool, keep func(int) bool) float64 {
	var pos, neg []float64
	for i, s := range ss {
		if keep != nil && !keep(i) {
			continue
		}
		v := s.Score
		if s.Verdict == "undetermined" {
			v = s.Raw
		}
		if anom[i] {
			pos = append(pos, v)
		} else {
			neg = append(neg, v)
		}
	}
	return auc2(pos, neg)
}

// partAUC ranks by one part of the ensemble, scaled by its group's median
// (the autoencoder error, or the kNN distance).
func partAUC(ss []trainer.Score, anom []bool, keep func(int) bool, knn bool) float64 {
	var pos, neg []float64
	for i, s := range ss {
		if keep != nil && !keep(i) {
			continue
		}
		v := s.Error / s.AEScale
		if knn {
			if s.KNNDistance == nil {
				return math.NaN()
			}
			v = *s.KNNDistance / s.KNNScale
		}
		if anom[i] {
			pos = append(pos, v)
		} else {
			neg = append(neg, v)
		}
	}
	return auc2(pos, neg)
}

// mixAUC ranks by (1-w) ae/ae_scale + w knn/knn_scale.
func mixAUC(ss []trainer.Score, anom []bool, w float64) float64 { return mixAUCKeep(ss, anom, w, nil) }

func mixAUCKeep(ss []trainer.Score, anom []bool, w float64, keep func(int) bool) float64 {
	var pos, neg []float64
	for i, s := range ss {
		if keep != nil && !keep(i) {
			continue
		}
		if s.KNNDistance == nil {
			return math.NaN()
		}
		v := (1-w)*s.Error/s.AEScale + w**s.KNNDistance/s.KNNScale
		if anom[i] {
			pos = append(pos, v)
		} else {
			neg = append(neg, v)
		}
	}
	return auc2(pos, neg)
}

// auc2 is P(pos > neg) + P(tie)/2.
func auc2(pos, neg []float64) float64 {
	n := append([]float64(nil), neg...)
	sort.Float64s(n)
	var s float64
	for _, p := range pos {
		lo := sort.SearchFloat64s(n, p)
		hi := lo
		for hi < len(n) && n[hi] == p {
			hi++
		}
		s += float64(lo) + float64(hi-lo)/2
	}
	return s / float64(len(pos)*len(n))
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		out = append(out, v)
	}
	return out
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "quality:", err)
		os.Exit(1)
	}
}
