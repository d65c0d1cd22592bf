package data

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseMetadata: any bytes, read as CSV or JSON, either fail as a whole
// with an error or give rows that all obey the rules, with every other
// record counted in the report.
func FuzzParseMetadata(f *testing.F) {
	seeds := []string{
		"filename,age_years,subject,expert_label\na.png,5,house,\nb.png,6.5,tree,severe\n",
		"filename;age_years\na.png;7,5\n",
		"filename,age_years\n\"a,b.png\",5\n\"broken,5\nc.png,19\n",
		"\xef\xbb\xbffilename\tage_years\ta\tb\n x.png \t 3 \t\t\n",
		`[{"filename":"a.png","age_years":5},{"filename":"b.png","age_years":"6"}]`,
		`{"samples":[{"filename":"a.png","age_years":5,"subject":"House","expert_label":"Concern"}]}`,
		`[{"filename":"a.png","age_years":5},`,
		`[1, "x", null, {"age_years": [1]}]`,
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, requireFilename bool) {
		for _, format := range []string{"csv", "json", ""} {
			rep := NewReport("fuzz")
			md, err := ParseMetadata(bytes.NewReader(b), format, requireFilename, rep)
			if err != nil {
				if md != nil {
					t.Fatal("metadata returned with an error")
				}
				continue
			}
			for _, r := range md.Rows {
				if r.AgeYears < MinAge || r.AgeYears >= MaxAgeExclusive || r.AgeYears != r.AgeYears {
					t.Fatalf("age %v kept", r.AgeYears)
				}
				if r.Label != LabelNormal && r.Label != LabelConcern && r.Label != LabelSevere {
					t.Fatalf("label %q kept", r.Label)
				}
				if requireFilename && strings.TrimSpace(r.Filename) == "" {
					t.Fatal("row without filename kept")
				}
				if r.Pos < 0 || r.Pos >= md.Records {
					t.Fatalf("pos %d of %d records", r.Pos, md.Records)
				}
			}
			if len(md.Rows)+rep.Skipped < md.Records && format != "json" {
				t.Fatalf("%d records, %d rows, %d skipped: some records are not accounted for", md.Records, len(md.Rows), rep.Skipped)
			}
		}
	})
}

// FuzzReadNPY: any bytes either fail with an error or give a matrix whose
// data has exactly rows*cols values.
func FuzzReadNPY(f *testing.F) {
	var buf bytes.Buffer
	WriteNPY(&buf, &Matrix{Rows: 2, Cols: 3, Data: []float32{1, 2, 3, 4, 5, 6}})
	f.Add(buf.Bytes())
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 32))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", 0))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999), }", 0))
	f.Add(npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", 3))
	f.Add([]byte("\x93NUMPY\x03\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadNPY(bytes.NewReader(b))
		if err != nil {
			return
		}
		if m.Rows < 0 || m.Cols <= 0 || len(m.Data) != m.Rows*m.Cols {
			t.Fatalf("rows %d cols %d data %d", m.Rows, m.Cols, len(m.Data))
		}
	})
}
