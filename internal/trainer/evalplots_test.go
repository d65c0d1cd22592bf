package trainer

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestROCAndScorePlots(t *testing.T) {
	hp := fastHP()
	hp["loss_plots"] = "true"
	root := newRoot(t, hp)
	runOK(t, root)
	dir := Layout{Root: root}.OutputDataDir()
	for _, name := range []string{"roc_5.png", "roc_all.png", "scores_8.png", "scores_all.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 300 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	pts := rocPoints([]float64{0.9, 0.8, 0.8, 0.1}, []bool{true, false, true, false})
	if len(pts) != 4 || pts[1].X != 0 || pts[1].Y != 0.5 || pts[2].X != 0.5 || pts[2].Y != 1 || pts[3].X != 1 {
		t.Fatalf("roc points %v", pts)
	}
}
