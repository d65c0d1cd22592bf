package trainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
)

// onnxChecker is ONNX's own model checker (Debian's python3-onnx, for
// Debian's own python3).
const onnxChecker = `
import sys, onnx
onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)
`

// ortRunner runs an ONNX file in ONNX Runtime (onnxruntime-node from npm,
// found on NODE_PATH) and prints the outputs as JSON. Features come as raw
// little-endian float32, rows x cols.
const ortRunner = `
const fs = require("fs"), ort = require("onnxruntime-node");
(async () => {
  const [file, xfile, rows, cols, ages] = process.argv.slice(2);
  const buf = fs.readFileSync(xfile);
  const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const age = Float32Array.from(JSON.parse(ages));
  const s = await ort.InferenceSession.create(file);
  const o = await s.run({features: new ort.Tensor("float32", x, [+rows, +cols]), age: new ort.Tensor("float32", age, [age.length])});
  console.log(JSON.stringify({error: Array.from(o.reconstruction_error.data), threshold: Array.from(o.threshold.data),
    score: Array.from(o.score.data), group: Array.from(o.group_index.data, Number), raw: Array.from(o.raw_score.data),
    knn: o.knn_distance ? Array.from(o.knn_distance.data) : null}));
})().catch(e => { console.error(e); process.exit(1); });
`

// DebianPython is the python3 that has Debian's python3-onnx.
const DebianPython = "/usr/bin/python3"

func TestONNXMatchesScoreVectorInONNXRuntime(t *testing.T) {
	if out, err := exec.Command("node", "-e", `require("onnxruntime-node")`).CombinedOutput(); err != nil {
		t.Fatalf("ONNX Runtime for node is missing (%v: %s); install it with 'npm install --ignore-scripts --prefix DIR onnxruntime-node@1.30.0' and set NODE_PATH=DIR/node_modules (scripts/test.sh does)", err, out)
	}
	if out, err := exec.Command(DebianPython, "-c", "import onnx.checker").CombinedOutput(); err != nil {
		t.Fatalf("ONNX's checker is missing (%v: %s); install it with 'apt-get install -y python3-onnx'", err, out)
	}
	root := newRoot(t, fastHP())
	runOK(t, root)
	l := Layout{Root: root}
	// A sub-range (ages 6-8) as an export would write it: three groups.
	sub := filepath.Join(t.TempDir(), "sub")
	if _, err := WriteSubset(l.ModelDir(), sub, func(g ModelGroup) bool { return g.Min >= 6 }); err != nil {
		t.Fatal(err)
	}
	// The same model as format 1 read it (the error against the threshold,
	// no scorers), and with one group that has no threshold (score 0).
	format1 := rewriteManifest(t, l.ModelDir(), func(m map[string]any) {
		m["format_version"] = 1
		delete(m, "score_method")
		delete(m, "knn_k")
	})
	noThreshold := rewriteManifest(t, l.ModelDir(), func(m map[string]any) {
		m["groups"].([]any)[1].(map[string]any)["threshold"] = 0
	})
	// The autoencoder-only score method.
	hp := fastHP()
	hp["score_method"] = ScoreAutoencoder
	aeRoot := newRoot(t, hp)
	runOK(t, aeRoot)
	// Two-year groups (5-6, 7-8) whose kNN reference is the drawing's own year (format 3).
	hp = fastHP()
	hp["min_samples"] = "60"
	yearsRoot := newRoot(t, hp)
	runOK(t, yearsRoot)
	cases := []struct{ name, dir, method string }{{"ensemble", l.ModelDir(), ScoreEnsemble}, {"ensemble-subset", sub, ScoreEnsemble},
		{"ensemble-year-windows", Layout{Root: yearsRoot}.ModelDir(), ScoreEnsemble},
		{"format-1", format1, ""}, {"no-threshold", noThreshold, ScoreEnsemble}, {"autoencoder", Layout{Root: aeRoot}.ModelDir(), ScoreAutoencoder}}
	for _, c := range cases {
		m, err := LoadModel(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Manifest.ScoreMethod != c.method {
			t.Fatalf("%s: score method %q, want %q", c.name, m.Manifest.ScoreMethod, c.method)
		}
		b, err := m.ONNX()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := m.ONNX()
		if !bytes.Equal(b, again) {
			t.Fatal("two ONNX encodings of one model differ")
		}
		onnxFile := filepath.Join(t.TempDir(), "model.onnx")
		if err := os.WriteFile(onnxFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// The test channel's features, at their own ages and at ages outside
		// and on the edges of every group (nearest-group choice).
		f, err := os.Open(filepath.Join(root, "input", "data", "test", "embeddings.npy"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := data.ReadNPY(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		edges := []float64{2, 4.999, 5, 5.5, 6, 6.999999, 7, 8.999, 9, 9.0000001, 12, 30}
		ages := make([]float64, x.Rows)
		for i := range ages {
			ages[i] = 5 + float64(i%40)/10
			if i < len(edges) {
				ages[i] = edges[i]
			}
		}
		if out, err := exec.Command(DebianPython, "-c", onnxChecker, onnxFile).CombinedOutput(); err != nil {
			t.Fatalf("onnx.checker rejects the model: %v\n%s", err, out)
		}
		raw := filepath.Join(t.TempDir(), "x.f32")
		if err := os.WriteFile(raw, rawFloat32(x.Data), 0o644); err != nil {
			t.Fatal(err)
		}
		ab, _ := json.Marshal(ages)
		js := filepath.Join(t.TempDir(), "run.js")
		if err := os.WriteFile(js, []byte(ortRunner), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("node", js, onnxFile, raw, strconv.Itoa(x.Rows), strconv.Itoa(x.Cols), string(ab)).Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("onnxruntime: %v\n%s", err, stderr)
		}
		var got struct {
			Error, Threshold, Score, Raw, KNN []float64
			Group                             []int
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("evaluator output %q: %v", out, err)
		}
		worst := 0.0
		for i := 0; i < x.Rows; i++ {
			// The runtime reads the age as float32, as the graph's input is.
			s, err := m.ScoreVector(x.Data[i*x.Cols:(i+1)*x.Cols], float64(float32(ages[i])))
			if err != nil {
				t.Fatal(err)
			}
			if m.Manifest.Groups[got.Group[i]].Name != s.Group {
				t.Fatalf("row %d age %g: ONNX chose group %s, ScoreVector %s", i, ages[i], m.Manifest.Groups[got.Group[i]].Name, s.Group)
			}
			if got.Threshold[i] != s.Threshold {
				t.Fatalf("row %d: threshold %g, want %g", i, got.Threshold[i], s.Threshold)
			}
			d := math.Abs(got.Score[i] - s.Score)
			worst = max(worst, d)
			if d > 1e-5 {
				t.Fatalf("row %d: ONNX score %.9g, ScoreVector %.9g (|diff| %.3g > 1e-5)", i, got.Score[i], s.Score, d)
			}
			wantRaw := s.Raw
			if m.Manifest.FormatVersion < 2 {
				wantRaw = s.Error
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"reconstruction_error", got.Error[i], s.Error}, {"raw_score", got.Raw[i], wantRaw}} {
				if d := math.Abs(c.got - c.want); d > 1e-5*max(1, math.Abs(c.want)) {
					t.Fatalf("row %d: ONNX %s %.9g, ScoreVector %.9g", i, c.what, c.got, c.want)
				}
			}
			if (got.KNN != nil) != (s.KNNDistance != nil) {
				t.Fatalf("row %d: ONNX knn_distance present %v, ScoreVector's %v", i, got.KNN != nil, s.KNNDistance != nil)
			}
			if s.KNNDistance != nil && math.Abs(got.KNN[i]-*s.KNNDistance) > 1e-5*max(1, *s.KNNDistance) {
				t.Fatalf("row %d: ONNX knn_distance %.9g, ScoreVector %.9g", i, got.KNN[i], *s.KNNDistance)
			}
		}
		t.Logf("%s: %d groups, %d rows, largest |score difference| %.3g", c.name, len(m.Manifest.Groups), x.Rows, worst)
	}
}

// rewriteManifest copies a model folder with its model.json changed by edit.
func rewriteManifest(t *testing.T, dir string, edit func(map[string]any)) string {
	t.Helper()
	out := t.TempDir()
	var m map[string]any
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, WeightsFile), w, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
