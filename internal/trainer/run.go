package trainer

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

// Channel names.
const (
	ChannelTraining   = "training"
	ChannelValidation = "validation"
	ChannelTest       = "test"
)

// Run is `sagetrain train`: the whole training job against mlRoot, logging
// and printing metric lines to stdout. On failure it writes the reason to
// output/failure and returns the error; when ctx is cancelled (SIGTERM) it
// checkpoints the groups in training first.
func Run(ctx context.Context, mlRoot string, stdout io.Writer) error {
	l := Layout{Root: mlRoot}
	r := &run{l: l, out: &lockedWriter{w: stdout}, start: time.Now()}
	err := r.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = errs.Job(fmt.Sprintf("training was stopped (SIGTERM or cancellation) after %s; the state of the groups in training was saved to %s",
				time.Since(r.start).Round(time.Second), l.CheckpointDir()),
				"restart the job with the same checkpoints folder (checkpoint_s3_uri on SageMaker) to resume", ctx.Err())
		}
		r.logf("FAILED: %v", err)
		msg := err.Error()
		if len(msg) > 1000 { // SageMaker shows the first 1024 bytes as FailureReason
			msg = msg[:1000]
		}
		if werr := writeFileAtomic(l.FailureFile(), []byte(msg+"\n")); werr != nil {
			r.logf("cannot write %s: %v", l.FailureFile(), werr)
		}
	}
	return err
}

type run struct {
	l     Layout
	out   io.Writer
	start time.Time
	p     Params
	rc    ResourceConfig
	prog  *progressTracker // the progress record (progress.go)
}

func (r *run) logf(format string, a ...any) {
	fmt.Fprintf(r.out, progress.Tag+format+"\n", a...)
}

// splits holds the samples of each split and the channel each came from.
type splits struct {
	train, val, test  []features.Sample
	valFrom, testFrom string // channel the split came from
}

func (r *run) run(ctx context.Context) (err error) {
	if r.rc, err = readResourceConfig(r.l); err != nil {
		return err
	}
	// Listen first, so that peers learn of any failure below instead of waiting for our groups.
	var ex *exchange
	if len(r.rc.Hosts) > 1 {
		if ex, err = startExchange(r.rc.CurrentHost, r.rc.Hosts, r.logf); err != nil {
			return err
		}
		defer ex.ln.Close()
		defer func() {
			if err != nil && ctx.Err() == nil {
				ex.fail(ctx, err, 15*time.Second)
			}
		}()
	}
	if r.p, err = readHyperparameters(r.l); err != nil {
		return err
	}
	for _, d := range []string{r.l.ModelDir(), r.l.OutputDataDir(), r.l.CheckpointDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return errs.Configuration("cannot create "+d, "make the ml-root writable", err)
		}
	}
	_ = os.Remove(r.l.FailureFile())
	removePartial(r.l)
	r.logf("host %s of %v, hyperparameters %+v", r.rc.CurrentHost, r.rc.Hosts, r.p)

	sets, err := r.loadChannels(ctx)
	if err != nil {
		return err
	}
	sp := r.split(sets)
	if err := r.completeWarps(ctx, sets, sp); err != nil {
		return err
	}
	settings := features.CurrentSettings()
	if sets[ChannelTraining].Kind == features.KindEmbeddings {
		settings = features.EmbeddingSettings(sets[ChannelTraining].Dim)
	}
	norm := fitNormalization(sp.train, settings, sets[ChannelTraining].Dim, settings.VisualDim, r.p)

	var trainAges []float64
	for _, s := range sp.train {
		if s.Label == "normal" {
			trainAges = append(trainAges, s.AgeYears)
		}
	}
	groups, short := BuildAgeGroups(trainAges, r.p.MinSamples, r.p.MaxGroupSpanYears)
	for _, g := range short {
		r.logf("age group %s has only %d normal training samples (< min_samples %d) within %d years: not trained, its ages are scored by the nearest group",
			g.Name, g.NTrain, r.p.MinSamples, r.p.MaxGroupSpanYears)
	}
	if len(groups) == 0 {
		return errs.Configuration(fmt.Sprintf("no age group reaches min_samples=%d normal training samples (%d normal training samples in all)", r.p.MinSamples, len(trainAges)),
			"add normal drawings to the training channel or lower the min_samples hyperparameter", nil)
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	fmt.Fprintln(r.out, progress.Format(progress.Groups{Names: names}))

	// Per group standardised matrices.
	gtrain := make([]autoencoder.Matrix, len(groups))
	gcopies := make([]autoencoder.Matrix, len(groups))
	gval := make([]autoencoder.Matrix, len(groups))
	valNormals := make([]int, len(groups))
	wantCopies := r.p.AEAugment > 0 && len(r.p.Warps()) > 0 && sets[ChannelTraining].Kind == features.KindDescriptor
	for i := range groups {
		gtrain[i] = norm.matrix(sp.train, groups, i)
		if r.p.AEAugment > 0 {
			gcopies[i] = norm.fullCopyMatrix(sp.train, groups, i)
		}
		if wantCopies && gcopies[i].Rows != gtrain[i].Rows {
			// never silently train without the augmentation asked for
			return errs.Job(fmt.Sprintf("age group %s: %d training drawings, %d augmented copies", groups[i].Name, gtrain[i].Rows, gcopies[i].Rows),
				"this is a bug in the trainer: report it with output/data/dataset_report.json", nil)
		}
		gval[i] = norm.matrix(sp.val, groups, i)
		valNormals[i] = gval[i].Rows
	}

	if r.p.AEAugment > 0 && len(r.p.Warps()) == 0 {
		r.logf("ae_augment %g has no copies to train on (knn_augment_rotations and knn_augment_scales are empty): the autoencoder trains on the originals", r.p.AEAugment)
	}

	assign := map[string]string{}
	for _, g := range groups {
		assign[g.Name] = r.rc.CurrentHost
	}
	if len(r.rc.Hosts) > 1 {
		assign = assignGroups(groups, r.rc.Hosts)
	}
	var own []groupResult
	nOwn := 0
	for _, g := range groups {
		if assign[g.Name] == r.rc.CurrentHost {
			nOwn++
		}
	}
	r.prog = newProgress(r.l, r.out, r.rc.CurrentHost, nOwn, r.p.Epochs)
	var jobs []groupJob
	for i, g := range groups {
		if assign[g.Name] == r.rc.CurrentHost {
			jobs = append(jobs, groupJob{g: g, train: gtrain[i], copies: gcopies[i], vals: gval[i]})
		}
	}
	own, err = r.trainGroups(ctx, jobs, r.trainJob)
	if err != nil {
		r.writePartial(groups, short, valNormals, assign, own, ctx.Err(), err)
		return err
	}
	all := own
	if ex != nil {
		r.logf("trained %d of %d groups here; exchanging with the other hosts", len(own), len(groups))
		if all, err = ex.finish(ctx, own, time.Duration(r.p.ExchangeTimeout*float64(time.Second))); err != nil {
			return err
		}
	}
	byName := map[string]groupResult{}
	for _, res := range all {
		byName[res.Name] = res
	}
	for _, g := range groups {
		if _, ok := byName[g.Name]; !ok {
			return errs.Job("age group "+g.Name+" was trained by no host", "check resourceconfig.json: every host must list the same hosts", nil)
		}
	}
	return r.finish(sets, sp, settings, norm, groups, short, gtrain, gval, byName)
}

// loadChannels loads training (required), validation and test (optional)
// and writes output/data/dataset_report.json.
func (r *run) loadChannels(ctx context.Context) (map[string]*features.Set, error) {
	declared, err := readInputDataConfig(r.l)
	if err != nil {
		return nil, err
	}
	if declared != nil {
		if _, ok := declared[ChannelTraining]; !ok {
			return nil, errs.Configuration("inputdataconfig.json declares no 'training' channel", "give the job a channel named training", nil)
		}
	}
	if st, err := os.Stat(r.l.ChannelDir(ChannelTraining)); err != nil || !st.IsDir() {
		return nil, errs.Configuration("the training channel is missing: no folder "+r.l.ChannelDir(ChannelTraining),
			"give the job a channel named 'training' holding metadata.csv and the drawings (or embeddings.npy)", err)
	}
	sets := map[string]*features.Set{}
	reports := map[string]*data.Report{}
	defer func() {
		writeJSON(filepath.Join(r.l.OutputDataDir(), "dataset_report.json"), map[string]any{"channels": reports})
	}()
	for _, ch := range []string{ChannelTraining, ChannelValidation, ChannelTest} {
		dir := r.l.ChannelDir(ch)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		t0 := time.Now()
		opts := features.Options{Workers: r.p.Workers}
		if ch == ChannelTraining {
			opts = r.trainingOptions()
		}
		set, err := features.LoadChannel(ctx, dir, opts)
		if set != nil && set.Report != nil {
			reports[ch] = set.Report
			r.logf("channel %s: %d usable, %d skipped (%s) in %s", ch, set.Report.Usable, set.Report.Skipped, problemSummary(set.Report), time.Since(t0).Round(time.Millisecond))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errs.Configuration("channel "+ch+" has no usable data", "see output/data/dataset_report.json", err)
		}
		set.Channel = ch
		sets[ch] = set
	}
	tr := sets[ChannelTraining]
	for ch, s := range sets {
		if s.Kind != tr.Kind || s.Dim != tr.Dim {
			return nil, errs.Configuration(fmt.Sprintf("channel %s has %s features of %d values, training has %s of %d", ch, s.Kind, s.Dim, tr.Kind, tr.Dim),
				"give every channel the same kind of data (all images, or embeddings of one width)", nil)
		}
	}
	return sets, nil
}

// trainingOptions load the training channel: with the warped copies of the
// normal drawings the split will train on (the kNN reference's copies,
// knn_augment_*, and the autoencoder's with ae_augment), not of the ones it
// will send to validation or test. The split is guessed here from the
// metadata (the channels present, every row readable); completeWarps gives
// the copies to any training sample the guess missed (an unreadable image
// shifts the split).
func (r *run) trainingOptions() features.Options {
	opts := features.Options{Workers: r.p.Workers}
	if r.p.ScoreMethod != ScoreEnsemble && r.p.AEAugment == 0 {
		return opts
	}
	opts.Warps, opts.FullCopy = r.p.Warps(), r.p.AEAugment > 0
	valFrac, testFrac := r.p.ValidationSplit, r.p.TestSplit
	hasVal, hasTest := isDir(r.l.ChannelDir(ChannelValidation)), isDir(r.l.ChannelDir(ChannelTest))
	if hasVal {
		valFrac = 0
	}
	if hasTest {
		testFrac = 0
	}
	opts.WarpOnly = func(items []data.Item) []bool {
		ages, labels := make([]float64, len(items)), make([]string, len(items))
		for i, it := range items {
			ages[i], labels[i] = it.AgeYears, it.Label
		}
		role := splitRoles(ages, labels, valFrac, testFrac, !hasTest, r.p.Seed)
		train := make([]bool, len(items))
		for i, ro := range role {
			train[i] = ro == roleTrain
		}
		return train
	}
	return opts
}

// completeWarps gives the training split's normal samples the warped copies
// the load's guess of the split left out (none when every image was read).
func (r *run) completeWarps(ctx context.Context, sets map[string]*features.Set, sp splits) error {
	if sets[ChannelTraining].Kind != features.KindDescriptor {
		return nil
	}
	n, err := features.AddWarps(ctx, r.l.ChannelDir(ChannelTraining), sp.train, r.trainingOptions())
	if n > 0 {
		r.logf("described the warped copies of %d more training drawings (the split moved when unreadable images were dropped)", n)
	}
	return err
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func problemSummary(rep *data.Report) string {
	var parts []string
	for _, p := range rep.Problems {
		ex := ""
		if len(p.Examples) > 0 {
			ex = " e.g. " + strings.Join(p.Examples, ", ")
		}
		parts = append(parts, fmt.Sprintf("%s: %d%s", p.Kind, p.Count, ex))
	}
	if len(parts) == 0 {
		return "no problems"
	}
	return strings.Join(parts, "; ")
}

// split returns the train/validation/test samples. A missing validation or
// test channel is split off training, stratified by (floor(age), label),
// with a generator seeded by the seed hyperparameter. Concern and severe
// samples of the training channel are never fitted: they go to the test split
// when it comes from training, and are otherwise unused.
func (r *run) split(sets map[string]*features.Set) splits {
	sp := splits{valFrom: ChannelValidation, testFrom: ChannelTest}
	train := sets[ChannelTraining].Samples
	valFrac, testFrac := r.p.ValidationSplit, r.p.TestSplit
	if v, ok := sets[ChannelValidation]; ok {
		sp.val, valFrac = v.Samples, 0
	} else {
		sp.valFrom = ChannelTraining
	}
	if t, ok := sets[ChannelTest]; ok {
		sp.test, testFrac = t.Samples, 0
	} else {
		sp.testFrom = ChannelTraining
	}
	ages, labels := make([]float64, len(train)), make([]string, len(train))
	for i, s := range train {
		ages[i], labels[i] = s.AgeYears, s.Label
	}
	role := splitRoles(ages, labels, valFrac, testFrac, sp.testFrom == ChannelTraining, r.p.Seed)
	unused := 0
	for i, s := range train {
		switch role[i] {
		case roleTrain:
			sp.train = append(sp.train, s)
		case roleValidation:
			sp.val = append(sp.val, s)
		case roleTest:
			sp.test = append(sp.test, s)
		default:
			unused++
		}
	}
	r.logf("split: %d training (validation from %s, test from %s): train %d, validation %d, test %d",
		len(train), sp.valFrom, sp.testFrom, len(sp.train), len(sp.val), len(sp.test))
	if unused > 0 {
		r.logf("%d concern/severe samples in the training channel are not used (never fitted; the test channel is separate)", unused)
	}
	return sp
}

// Roles of a training-channel sample in the split.
const (
	roleTrain byte = iota
	roleValidation
	roleTest
	roleUnused
)

// splitRoles is split's rule on the samples' ages and labels (in channel
// order): strata of (floor(age), label), each normal stratum shuffled by a
// generator seeded by seed and the stratum, its first round(n*testFrac) to
// test and the next round(n*valFrac) to validation. Anomalous samples go to
// test when testFromTraining, else are unused.
func splitRoles(ages []float64, labels []string, valFrac, testFrac float64, testFromTraining bool, seed int64) []byte {
	strata := map[string][]int{}
	var keys []string
	for i := range ages {
		k := fmt.Sprintf("%03d/%s", int(math.Floor(ages[i])), labels[i])
		if _, ok := strata[k]; !ok {
			keys = append(keys, k)
		}
		strata[k] = append(strata[k], i)
	}
	sort.Strings(keys)
	role := make([]byte, len(ages))
	for _, k := range keys {
		idx := strata[k]
		if !strings.HasSuffix(k, "/normal") {
			for _, i := range idx {
				role[i] = roleUnused
				if testFromTraining {
					role[i] = roleTest
				}
			}
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(k))
		rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		nTest := int(math.Round(float64(len(idx)) * testFrac))
		nVal := int(math.Round(float64(len(idx)) * valFrac))
		for j, i := range idx {
			switch {
			case j < nTest:
				role[i] = roleTest
			case j < nTest+nVal:
				role[i] = roleValidation
			}
		}
	}
	return role
}

// groupNormals returns the normal samples of set that belong to group gi
// (by floor(age), or nearest group for ages no group covers), in set order.
func groupNormals(set []features.Sample, groups []AgeGroup, gi int) []features.Sample {
	var out []features.Sample
	for _, s := range set {
		if g, _ := nearestGroup(groups, s.AgeYears); s.Label == "normal" && g == gi {
			out = append(out, s)
		}
	}
	return out
}

// rows returns, standardised, the vectors pick chooses of each of group
// gi's normal samples of set (groupNormals), in order, and each row's age:
// the one builder behind matrix, warpedMatrix and fullCopyMatrix.
func (n Normalization) rows(set []features.Sample, groups []AgeGroup, gi int, pick func(features.Sample) [][]float32) (autoencoder.Matrix, []float64) {
	m := autoencoder.Matrix{Cols: len(n.Mean)}
	var ages []float64
	for _, s := range groupNormals(set, groups, gi) {
		for _, x := range pick(s) {
			row := make([]float32, m.Cols)
			n.apply(x, row)
			m.Data = append(m.Data, row...)
			m.Rows++
			ages = append(ages, s.AgeYears)
		}
	}
	return m, ages
}

// matrix returns group gi's normal samples of set (groupNormals), standardised.
func (n Normalization) matrix(set []features.Sample, groups []AgeGroup, gi int) autoencoder.Matrix {
	m, _ := n.rows(set, groups, gi, func(s features.Sample) [][]float32 { return [][]float32{s.X} })
	return m
}

// warpedMatrix returns the Warped copies of group gi's normal samples of
// set, standardised, and each copy's age (the kNN reference's extra rows).
func (n Normalization) warpedMatrix(set []features.Sample, groups []AgeGroup, gi int) (autoencoder.Matrix, []float64) {
	return n.rows(set, groups, gi, func(s features.Sample) [][]float32 { return s.Warped })
}

// fullCopyMatrix returns, standardised, the copy of each of group gi's
// normal samples of set that recomputed every block (features.Sample.FullCopy),
// in the rows' order of Normalization.matrix: the autoencoder's augmentation
// (ae_augment). A sample without such a copy has no row (run refuses a
// group whose rows and copies do not match).
func (n Normalization) fullCopyMatrix(set []features.Sample, groups []AgeGroup, gi int) autoencoder.Matrix {
	m, _ := n.rows(set, groups, gi, func(s features.Sample) [][]float32 {
		if s.FullCopy < 0 || s.FullCopy >= len(s.Warped) {
			return nil
		}
		return [][]float32{s.Warped[s.FullCopy]}
	})
	return m
}

// normalAges returns the ages of the rows Normalization.matrix gives for
// the same set and group, in the same order.
func normalAges(set []features.Sample, groups []AgeGroup, gi int) []float64 {
	var out []float64
	for _, s := range groupNormals(set, groups, gi) {
		out = append(out, s.AgeYears)
	}
	return out
}

func (r *run) netConfig(g AgeGroup) autoencoder.Config {
	p := r.p
	return autoencoder.Config{
		Hidden: p.HiddenSizes, Dropout: float32(p.Dropout), LR: p.LearningRate, BatchSize: p.BatchSize,
		Epochs: p.Epochs, Patience: p.EarlyStopping, MinDelta: p.MinDelta, LRPatience: p.LRPatience,
		LRFactor: p.LRFactor, GradClip: p.GradClip,
		// Each group has its own stream, derived from the seed and the age range only,
		// so a group's model does not depend on which host trains it or in what order.
		Seed: uint64(p.Seed)*1_000_003 + uint64(g.Min)*100 + uint64(g.Max),
	}
}

// trainGroup trains one group, resuming from its checkpoint when one matches.
func (r *run) trainGroup(ctx context.Context, g AgeGroup, train, copies, val autoencoder.Matrix) (groupResult, error) {
	cfg := r.netConfig(g)
	if r.p.AEAugment > 0 && copies.Rows > 0 && copies.Rows == train.Rows {
		cfg.Augment = &autoencoder.Augment{Copies: copies, PerRow: 1, Prob: r.p.AEAugment}
	}
	fp := groupFingerprint(r.p, g, train, val)
	st, why := loadCheckpoint(r.l, g.Name, fp)
	switch {
	case why != "":
		r.logf("group %s: ignoring checkpoint %s (%s)", g.Name, checkpointPath(r.l, g.Name), why)
	case st != nil && st.Done:
		fmt.Fprintln(r.out, progress.Format(progress.GroupDone{Group: g.Name, Epochs: st.Epoch, FromCheckpoint: true}))
	case st != nil:
		r.logf("group %s: resuming from checkpoint after epoch %d", g.Name, st.Epoch)
	}
	if st != nil {
		for _, e := range st.History {
			r.epochLine(g.Name, e) // so the history in the log is complete
		}
	}
	r.logf("group %s: training on %d normal samples, validating on %d", g.Name, train.Rows, val.Rows)
	t0 := time.Now()
	last := time.Now()
	startEpoch := 0
	if st != nil {
		startEpoch = st.Epoch
	}
	final, err := autoencoder.Train(ctx, cfg, train, val, st, func(s *autoencoder.State) error {
		r.epochLine(g.Name, s.History[len(s.History)-1])
		if s.Done {
			// A finished group needs only its weights and history: a quarter of the size.
			done := *s
			done.M, done.V, done.BestParams = nil, nil, nil
			return saveCheckpoint(r.l, g.Name, fp, &done)
		}
		if time.Since(last).Seconds() >= r.p.CheckpointSeconds {
			last = time.Now()
			return saveCheckpoint(r.l, g.Name, fp, s)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil && final != nil {
			if serr := saveCheckpoint(r.l, g.Name, fp, final); serr != nil {
				r.logf("group %s: cannot save checkpoint: %v", g.Name, serr)
			} else {
				r.logf("group %s: stopped; checkpoint saved after epoch %d", g.Name, final.Epoch)
			}
			return groupResult{}, ctx.Err()
		}
		return groupResult{}, errs.Job("training age group "+g.Name+" failed", "check the hyperparameters", err)
	}
	if final.BestEpoch == 0 || math.IsNaN(final.BestVal) || math.IsInf(final.BestVal, 0) {
		return groupResult{}, errs.Job(fmt.Sprintf("training of age group %s diverged: the validation loss was never finite", g.Name),
			"lower learning_rate or grad_clip, and check the data for extreme values", nil)
	}
	if n := final.Epoch - startEpoch; n > 0 {
		dt := time.Since(t0).Seconds()
		fmt.Fprintln(r.out, progress.Format(progress.GroupDone{Group: g.Name, Epochs: n, Seconds: dt,
			SamplesPerSec: float64(n*train.Rows) / dt, BestEpoch: final.BestEpoch, BestValLoss: final.BestVal}))
	}
	return groupResult{Name: g.Name, Host: r.rc.CurrentHost, Params: final.Params, BestEpoch: final.BestEpoch,
		BestVal: final.BestVal, Epochs: final.Epoch, History: final.History}, nil
}

// epochLine prints one epoch in the documented format.
func (r *run) epochLine(group string, e autoencoder.EpochStats) {
	fmt.Fprintln(r.out, progress.Format(progress.Epoch{Epoch: e.Epoch, Group: group, TrainLoss: e.TrainLoss, ValLoss: e.ValLoss, LR: e.LR}))
	r.prog.epoch(group, e)
}
