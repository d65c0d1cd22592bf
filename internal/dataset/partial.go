package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// partialMetadata makes --allow-partial upload a metadata file without the
// rows it left out: the CSV's header and the rows of the files that are
// uploaded, written to dir, in place of the original. A JSON metadata file
// (or a set without per-file rows, such as embeddings) is sent as it is.
func partialMetadata(scan *ScanResult, dir string) error {
	if scan.RowLines == nil {
		return nil
	}
	mi := -1
	keep := map[int]bool{}
	for i, f := range scan.Files {
		if f.IsMetadata {
			mi = i
			continue
		}
		if l, ok := scan.RowLines[f.Rel]; ok {
			keep[l] = true
		}
	}
	if mi < 0 || scan.Files[mi].Rel != MetadataKey {
		return nil
	}
	b, err := os.ReadFile(scan.Files[mi].Abs)
	if err != nil {
		return errs.Configuration("cannot read the metadata file "+scan.Files[mi].Abs, "check its permissions", err)
	}
	out := filterCSVRows(string(b), keep)
	p := filepath.Join(dir, MetadataKey)
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		return errs.Configuration("cannot write the partial metadata file", "check the temporary folder", err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	scan.Files[mi].Abs, scan.Files[mi].Size, scan.Files[mi].ModTime = p, st.Size(), st.ModTime()
	return nil
}

// filterCSVRows keeps the header (the first non-blank line) and the records
// that start on a kept line, joining quoted fields across lines the way the
// trainer's reader does.
func filterCSVRows(text string, keep map[int]bool) string {
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	var b strings.Builder
	h := 0
	for h < len(lines) && strings.TrimSpace(lines[h]) == "" {
		h++
	}
	if h == len(lines) {
		return text
	}
	fmt.Fprintln(&b, lines[h])
	for i := h + 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		start, end := i, i
		if strings.Count(lines[i], `"`)%2 == 1 {
			joined := lines[i]
			for j := i; j+1 < len(lines) && j-i < 20; {
				j++
				joined += "\n" + lines[j]
				if strings.Count(joined, `"`)%2 == 0 {
					end = j
					break
				}
			}
		}
		if keep[start+1] {
			for k := start; k <= end; k++ {
				fmt.Fprintln(&b, lines[k])
			}
		}
		i = end
	}
	return b.String()
}
