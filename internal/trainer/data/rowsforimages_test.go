package data

import "testing"

// score's images are paths as the user wrote them; the rows match them by
// the trainer's rules, as a dataset's would.
func TestRowsForImages(t *testing.T) {
	rows := []Row{
		{Filename: "a.png", AgeYears: 5, Line: 2},
		{Filename: "sub/b.png", AgeYears: 6, Line: 3},
		{Filename: "c", AgeYears: 7, Line: 4},     // no extension
		{Filename: "D.PNG", AgeYears: 8, Line: 5}, // other case
		{Filename: "a.png", AgeYears: 9, Line: 6}, // repeated: the first wins
	}
	images := []string{"/tmp/x/a.png", "./sub/b.png", "c.jpg", "d.png", "e.png"}
	got := RowsForImages(rows, images)
	want := []float64{5, 6, 7, 8, -1}
	for i, w := range want {
		switch {
		case w < 0 && got[i] != nil:
			t.Errorf("%s: row %+v, want none", images[i], *got[i])
		case w >= 0 && (got[i] == nil || got[i].AgeYears != w):
			t.Errorf("%s: row %v, want age %g", images[i], got[i], w)
		}
	}
}
