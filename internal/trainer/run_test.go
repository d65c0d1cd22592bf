package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/sampledata"
)

// The contract test: train against a temporary ml-root and check every output.
func TestTrainWritesEveryOutput(t *testing.T) {
	hp := fastHP()
	hp["loss_plots"] = "true"
	root := newRoot(t, hp)
	out := runOK(t, root)
	l := Layout{Root: root}

	if _, err := os.Stat(l.FailureFile()); !os.IsNotExist(err) {
		t.Fatalf("output/failure exists after a successful run: %v", err)
	}
	var man Manifest
	if err := json.Unmarshal(readFile(t, filepath.Join(l.ModelDir(), "model.json")), &man); err != nil {
		t.Fatal(err)
	}
	if man.Format != ModelFormat || man.FormatVersion != FormatVersion || man.Architecture.Input != 16 || man.Features.Kind != "embeddings" {
		t.Fatalf("manifest header: %+v", man)
	}
	if man.Trainer.GoVersion == "" || man.Trainer.Version == "" {
		t.Fatalf("model.json does not say which sagetrain trained it: %+v", man.Trainer)
	}
	// 40 rows a year, 85% train = 34 per year (the test channel is separate): one year per group.
	if len(man.Groups) != 4 || man.Groups[0].Name != "5" || man.Groups[3].Name != "8" {
		t.Fatalf("groups %+v", man.Groups)
	}
	for _, g := range man.Groups {
		if g.Threshold <= 0 || g.NTrain != 34 || g.BestEpoch < 1 || g.WeightsCount != man.Architecture.Params {
			t.Fatalf("group %+v", g)
		}
	}
	if len(man.Normalization.Mean) != 16 {
		t.Fatal("normalisation missing")
	}
	var metrics map[string]any
	if err := json.Unmarshal(readFile(t, filepath.Join(l.ModelDir(), "metrics.json")), &metrics); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"test_auroc", "test_average_precision", "val_loss", "epochs_trained", "n_train", "test_precision", "test_recall", "test_f1", "test_error_p95", "test_error_p99"} {
		if _, ok := metrics[k].(float64); !ok {
			t.Errorf("metrics.json %s = %v, want a number", k, metrics[k])
		}
	}
	if auc := metrics["test_auroc"].(float64); auc < 0.9 {
		t.Errorf("test_auroc %.3f on separable synthetic data, want >= 0.9", auc)
	}
	if metrics["n_train"].(float64) != 136 || metrics["n_test"].(float64) != 72 {
		t.Errorf("n_train %v n_test %v, want 136 and 72", metrics["n_train"], metrics["n_test"])
	}
	groups, _ := metrics["groups"].(map[string]any)
	if len(groups) != 4 {
		t.Fatalf("per-group metrics %v", metrics["groups"])
	}
	var hist struct {
		Groups map[string][]map[string]any `json:"groups"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(l.OutputDataDir(), "history.json")), &hist); err != nil || len(hist.Groups["5"]) == 0 {
		t.Fatalf("history.json: %v %v", err, hist)
	}
	// The kept epoch is the one with the lowest validation loss in the history.
	for _, g := range man.Groups {
		h := hist.Groups[g.Name]
		best := 0
		for i, e := range h {
			if e["val_loss"].(float64) < h[best]["val_loss"].(float64) {
				best = i
			}
		}
		if int(h[best]["epoch"].(float64)) != g.BestEpoch || h[best]["val_loss"].(float64) != g.BestValLoss || h[best]["best"] != true {
			t.Errorf("group %s: best epoch %d (%g) in the model, %v in the history", g.Name, g.BestEpoch, g.BestValLoss, h[best])
		}
	}
	for _, g := range man.Groups {
		png := readFile(t, filepath.Join(l.OutputDataDir(), "loss_"+g.Name+".png"))
		if !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("loss_%s.png is not a PNG", g.Name)
		}
	}
	var rep map[string]map[string]*data.Report
	if err := json.Unmarshal(readFile(t, filepath.Join(l.OutputDataDir(), "dataset_report.json")), &rep); err != nil || rep["channels"]["training"].Usable != 160 {
		t.Fatalf("dataset_report.json: %v %+v", err, rep)
	}
	// Every final metric line matches its definition, with the metrics.json value.
	for _, d := range MetricDefinitions() {
		re := regexp.MustCompile("(?m)" + d.Regex)
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("no stdout line matches metric %s (%s)", d.Name, d.Regex)
		}
	}
	if !strings.Contains(out, "epoch=1 group=5 train_loss=") {
		t.Error("no per-epoch line on stdout")
	}
	// The model loads back and scores: a clear anomaly scores higher than a typical normal row.
	m, err := LoadModel(l.ModelDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.ScoreVector(make([]float32, 16), 30)
	if err != nil || s.Group != "8" || s.GroupExact {
		t.Fatalf("age 30 should use the nearest group 8: %+v %v", s, err)
	}
	wild := make([]float32, 16)
	for i := range wild {
		wild[i] = float32(i%5) * 8
	}
	s, err = m.ScoreVector(wild, 6.5)
	if err != nil || s.Group != "6" || !s.GroupExact || !s.Anomalous || s.Verdict != "anomalous" {
		t.Fatalf("far-off vector: %+v %v", s, err)
	}
	if _, err := m.ScoreImage("x.png", "", 6); !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("scoring an image with an embeddings model: %v", err)
	}
}

func TestSameDataSameSeedSameModelBytes(t *testing.T) {
	a, b := newRoot(t, fastHP()), newRoot(t, fastHP())
	runOK(t, a)
	runOK(t, b)
	for _, f := range []string{"model.json", "weights.bin", "metrics.json"} {
		if !bytes.Equal(readFile(t, filepath.Join(a, "model", f)), readFile(t, filepath.Join(b, "model", f))) {
			t.Errorf("%s differs between two identical runs", f)
		}
	}
	hp := fastHP()
	hp["seed"] = "7"
	c := newRoot(t, hp)
	runOK(t, c)
	if bytes.Equal(readFile(t, filepath.Join(a, "model", "weights.bin")), readFile(t, filepath.Join(c, "model", "weights.bin"))) {
		t.Error("another seed gave the same weights")
	}
}

// Groups trained one per core, side by side, give the model of groups
// trained one after the other, each on both cores.
func TestGroupsSideBySideGiveTheSameModel(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: the groups cannot train side by side")
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	one := newRoot(t, fastHP())
	if out := runOK(t, one); strings.Contains(out, "at a time, one per core") {
		t.Fatal("one core trained the groups side by side")
	}
	runtime.GOMAXPROCS(2)
	two := newRoot(t, fastHP())
	if out := runOK(t, two); !strings.Contains(out, "training 4 age groups 2 at a time, one per core") {
		t.Fatalf("two cores did not train the groups side by side:\n%s", out)
	}
	for _, f := range []string{"model.json", "weights.bin", "metrics.json"} {
		if !bytes.Equal(readFile(t, filepath.Join(one, "model", f)), readFile(t, filepath.Join(two, "model", f))) {
			t.Errorf("%s differs between one core and two", f)
		}
	}
}

// SIGTERM mid-training: checkpoint, non-zero exit with a failure file; the
// restarted job resumes and ends with the uninterrupted run's model.
func TestStopCheckpointResumeGivesSameModel(t *testing.T) {
	hp := fastHP()
	hp["checkpoint_interval_seconds"] = "1000" // only the stop itself and finished groups save
	full := newRoot(t, hp)
	runOK(t, full)

	root := newRoot(t, hp)
	ctx, cancel := context.WithCancel(context.Background())
	var stoppedAt time.Time
	out := &syncBuffer{on: func(line string) {
		if strings.HasPrefix(line, "epoch=4 group=6 ") {
			stoppedAt = time.Now()
			cancel()
		}
	}}
	err := Run(ctx, root, out)
	if err == nil || !errors.Is(err, errs.ErrJob) {
		t.Fatalf("a stopped run returned %v, want a job error", err)
	}
	if d := time.Since(stoppedAt); d > 10*time.Second {
		t.Fatalf("stopping took %s, SageMaker's grace period is shorter", d)
	}
	l := Layout{Root: root}
	fail := string(readFile(t, l.FailureFile()))
	if !strings.Contains(fail, "stopped") {
		t.Fatalf("failure file %q does not say the job was stopped", fail)
	}
	if _, err := os.Stat(filepath.Join(l.CheckpointDir(), "group-6.ckpt")); err != nil {
		t.Fatalf("no checkpoint for the group in training: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.ModelDir(), "model.json")); err == nil {
		t.Fatal("a stopped run wrote a model")
	}
	resumed := runOK(t, root)
	// On one core group 5 was done before group 6 began; on two, the two
	// trained side by side and group 5 was stopped too.
	if !strings.Contains(resumed, "group 6: resuming from checkpoint after epoch 4") ||
		!(strings.Contains(resumed, "group 5: already trained") || strings.Contains(resumed, "group 5: resuming from checkpoint")) {
		t.Fatalf("resumed run did not use the checkpoints:\n%s", resumed)
	}
	if _, err := os.Stat(l.FailureFile()); !os.IsNotExist(err) {
		t.Fatal("failure file left after the successful resume")
	}
	for _, f := range []string{"model.json", "weights.bin"} {
		if !bytes.Equal(readFile(t, filepath.Join(full, "model", f)), readFile(t, filepath.Join(root, "model", f))) {
			t.Errorf("%s after resume differs from the uninterrupted run", f)
		}
	}
}

func TestFailuresWriteReason(t *testing.T) {
	t.Run("no training channel", func(t *testing.T) {
		root := t.TempDir()
		writeConfig(t, root, fastHP(), "algo-1", []string{"algo-1"})
		err := Run(context.Background(), root, &bytes.Buffer{})
		if !errors.Is(err, errs.ErrConfiguration) {
			t.Fatalf("err %v", err)
		}
		if f := string(readFile(t, Layout{Root: root}.FailureFile())); !strings.Contains(f, "training channel is missing") {
			t.Fatalf("failure %q", f)
		}
	})
	t.Run("nothing usable", func(t *testing.T) {
		root := t.TempDir()
		writeConfig(t, root, fastHP(), "algo-1", []string{"algo-1"})
		dir := filepath.Join(root, "input", "data", "training")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "metadata.csv"), []byte("filename,age_years\na.png,40\nb.png,1\n"), 0o644)
		err := Run(context.Background(), root, &bytes.Buffer{})
		if err == nil {
			t.Fatal("no error")
		}
		if f := string(readFile(t, Layout{Root: root}.FailureFile())); !strings.Contains(f, "no usable data") {
			t.Fatalf("failure %q", f)
		}
		if _, err := os.Stat(filepath.Join(root, "output", "data", "dataset_report.json")); err != nil {
			t.Fatal("no dataset report for a failed load")
		}
	})
	t.Run("too few samples for any group", func(t *testing.T) {
		hp := fastHP()
		hp["min_samples"] = "500"
		root := newRoot(t, hp)
		err := Run(context.Background(), root, &bytes.Buffer{})
		if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(string(readFile(t, Layout{Root: root}.FailureFile())), "min_samples") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad hyperparameter", func(t *testing.T) {
		hp := fastHP()
		hp["learning_rat"] = "0.1"
		root := newRoot(t, hp)
		err := Run(context.Background(), root, &bytes.Buffer{})
		if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(string(readFile(t, Layout{Root: root}.FailureFile())), "learning_rat") {
			t.Fatalf("err %v", err)
		}
	})
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Two hosts split the groups, exchange them, and both end with the complete
// model, equal to the single-host one.
func TestTwoHostsEachEndWithTheCompleteModel(t *testing.T) {
	single := newRoot(t, fastHP())
	runOK(t, single)

	hosts := []string{"algo-1", "algo-2"}
	roots := []string{newRoot(t, fastHP()), newRoot(t, fastHP())}
	t.Setenv(EnvHostAddresses, "algo-1="+freeAddr(t)+",algo-2="+freeAddr(t))
	var wg sync.WaitGroup
	errsOut := make([]error, 2)
	outs := make([]*syncBuffer, 2)
	for i, h := range hosts {
		writeConfig(t, roots[i], fastHP(), h, hosts)
		outs[i] = &syncBuffer{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOut[i] = Run(context.Background(), roots[i], outs[i])
		}()
	}
	wg.Wait()
	for i := range hosts {
		if errsOut[i] != nil {
			t.Fatalf("host %s: %v\n%s", hosts[i], errsOut[i], outs[i].String())
		}
	}
	want, err := LoadModel(filepath.Join(single, "model"))
	if err != nil {
		t.Fatal(err)
	}
	a := readFile(t, filepath.Join(roots[0], "model", "model.json"))
	for i, root := range roots {
		m, err := LoadModel(filepath.Join(root, "model"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifest.Groups) != len(want.Manifest.Groups) {
			t.Fatalf("host %d has %d groups, want %d", i, len(m.Manifest.Groups), len(want.Manifest.Groups))
		}
		used := map[string]bool{}
		for j, g := range m.Manifest.Groups {
			used[g.TrainedOnHost] = true
			if g.Name != want.Manifest.Groups[j].Name || g.Threshold != want.Manifest.Groups[j].Threshold {
				t.Errorf("host %d group %s differs from the single-host model", i, g.Name)
			}
		}
		if len(used) != 2 {
			t.Errorf("groups were not divided among both hosts: %v", used)
		}
		if !bytes.Equal(a, readFile(t, filepath.Join(root, "model", "model.json"))) ||
			!bytes.Equal(readFile(t, filepath.Join(single, "model", "weights.bin")), readFile(t, filepath.Join(root, "model", "weights.bin"))) {
			t.Errorf("host %d's model files differ", i)
		}
	}
}

// A host that fails tells the others, which fail at once instead of waiting
// out host_exchange_timeout_seconds for its groups.
func TestFailedHostFailsItsPeersPromptly(t *testing.T) {
	hosts := []string{"algo-1", "algo-2"}
	roots := []string{newRoot(t, fastHP()), newRoot(t, fastHP())}
	t.Setenv(EnvHostAddresses, "algo-1="+freeAddr(t)+",algo-2="+freeAddr(t))
	good := fastHP()
	good["host_exchange_timeout_seconds"] = "120"
	bad := fastHP()
	bad["min_samples"] = "zero"
	writeConfig(t, roots[0], good, "algo-1", hosts)
	writeConfig(t, roots[1], bad, "algo-2", hosts)
	start := time.Now()
	var wg sync.WaitGroup
	errsOut := make([]error, 2)
	for i := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOut[i] = Run(context.Background(), roots[i], &syncBuffer{})
		}()
	}
	wg.Wait()
	if !errors.Is(errsOut[1], errs.ErrConfiguration) {
		t.Fatalf("bad host: %v", errsOut[1])
	}
	if errsOut[0] == nil || !strings.Contains(errsOut[0].Error(), "host algo-2 failed") || !strings.Contains(errsOut[0].Error(), "min_samples") {
		t.Fatalf("good host: %v", errsOut[0])
	}
	if f := string(readFile(t, Layout{Root: roots[0]}.FailureFile())); !strings.Contains(f, "algo-2") {
		t.Fatalf("good host's failure file %q", f)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Fatalf("took %s: the good host waited for the timeout", d)
	}
}

// The training channel is described with the copies of the drawings the
// split will train on only (guessed from the metadata). An unreadable image
// moves the split: the training drawings the guess missed get their copies
// afterwards: without them the run fails (a group whose drawings lack their
// ae_augment copies is refused, never trained without the augmentation) and
// the kNN reference would miss their copies.
func TestUnreadableImageMovesTheSplitAndTheCopiesFollow(t *testing.T) {
	root := t.TempDir()
	dataDir := filepath.Join(root, "input", "data")
	if _, err := sampledata.Generate(dataDir, sampledata.Options{Train: 120, Test: 30, Size: 64}); err != nil {
		t.Fatal(err)
	}
	hp := fastHP()
	hp["min_samples"] = "20"
	writeConfig(t, root, hp, "algo-1", []string{"algo-1"})
	if err := os.WriteFile(filepath.Join(dataDir, "training", "images", "train_00003.png"), []byte("\x89PNG\r\n\x1a\nbroken"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, root)
	if !strings.Contains(out, "described the warped copies of") {
		t.Fatalf("no training drawing got its copies after the split moved:\n%s", out)
	}
}
