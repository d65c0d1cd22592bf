package data

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/excerpt"
)

// Age limits: floor(age_years) must be 2..18, so MinAge <= age < MaxAgeExclusive.
const (
	MinAge          = 2.0
	MaxAgeExclusive = 19.0
)

// Labels accepted in expert_label (empty means normal).
const (
	LabelNormal  = "normal"
	LabelConcern = "concern"
	LabelSevere  = "severe"
)

// maxMetadataBytes bounds what is read from a metadata file.
const maxMetadataBytes = 512 << 20

// Row is one usable metadata row.
type Row struct {
	Pos      int     `json:"pos"`  // 0-based position among the file's data records (aligns with embeddings.npy rows)
	Line     int     `json:"line"` // 1-based line (CSV) or entry number (JSON), for messages
	Filename string  `json:"filename,omitempty"`
	AgeYears float64 `json:"age_years"`
	Subject  string  `json:"subject,omitempty"`
	Label    string  `json:"label"` // normal, concern or severe
}

// Name is how the row is named in reports: its filename, else its line.
func (r Row) Name() string {
	if r.Filename != "" {
		return r.Filename
	}
	return fmt.Sprintf("line %d", r.Line)
}

// Metadata is a parsed metadata file.
type Metadata struct {
	Format  string   `json:"format"`  // "csv" or "json"
	Columns []string `json:"columns"` // lower-cased header (CSV) or keys seen (JSON)
	Records int      `json:"records"` // data records read, usable or not
	Rows    []Row    `json:"rows"`    // the usable rows, in file order
}

// ParseMetadata reads a metadata file in format "csv" or "json" ("" sniffs
// it). Bad rows are skipped and counted in rep; an error is returned only
// when the file as a whole cannot be used (no header, no age_years column,
// no filename column when requireFilename, not CSV or JSON at all).
func ParseMetadata(r io.Reader, format string, requireFilename bool, rep *Report) (*Metadata, error) {
	if rep == nil {
		rep = NewReport("")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxMetadataBytes+1))
	if err != nil {
		return nil, errs.Configuration("cannot read the metadata file", "check that it is a readable file", err)
	}
	if len(b) > maxMetadataBytes {
		return nil, errs.Configuration("metadata file is larger than 512 MiB", "split the data set into several channels", nil)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if format == "" {
		format = "csv"
		if t := bytes.TrimSpace(b); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
			format = "json"
		}
	}
	var md *Metadata
	switch format {
	case "csv":
		md, err = parseCSV(b, requireFilename, rep)
	case "json":
		md, err = parseJSON(b, requireFilename, rep)
	default:
		return nil, errs.Configuration(fmt.Sprintf("unknown metadata format %q", format), "use metadata.csv or metadata.json", nil)
	}
	if err != nil {
		return nil, err
	}
	rep.MetadataRows = md.Records
	return md, nil
}

// rawRow is one record's fields before validation.
type rawRow struct {
	pos, line                     int
	filename, age, subject, label string
	hasAge                        bool
}

// validate turns a raw record into a Row, or counts why it cannot be used.
func validate(rr rawRow, requireFilename bool, rep *Report) (Row, bool) {
	name := strings.TrimSpace(rr.filename)
	shown := excerpt.Clean(name, excerpt.Max)
	if shown == "" {
		shown = fmt.Sprintf("line %d", rr.line)
	}
	if requireFilename && name == "" {
		rep.Add(KindMissingFilename, shown)
		return Row{}, false
	}
	ageText := strings.TrimSpace(rr.age)
	if !strings.Contains(ageText, ".") {
		ageText = strings.Replace(ageText, ",", ".", 1) // "7,5" written with a decimal comma
	}
	age, err := strconv.ParseFloat(ageText, 64)
	if !rr.hasAge || err != nil || math.IsNaN(age) || math.IsInf(age, 0) {
		rep.Add(KindBadAge, fmt.Sprintf("%s (age %s)", shown, excerpt.QuoteN(strings.TrimSpace(rr.age), 24)))
		return Row{}, false
	}
	if age < MinAge || age >= MaxAgeExclusive {
		rep.Add(KindAgeOutOfRange, fmt.Sprintf("%s (age %g)", shown, age))
		return Row{}, false
	}
	label := strings.ToLower(strings.TrimSpace(rr.label))
	switch label {
	case "":
		label = LabelNormal
	case LabelNormal, LabelConcern, LabelSevere:
	default:
		rep.Add(KindBadLabel, fmt.Sprintf("%s (label %s)", shown, excerpt.QuoteN(strings.TrimSpace(rr.label), 24)))
		return Row{}, false
	}
	subject := strings.TrimSpace(rr.subject)
	if !KnownSubject(subject) {
		rep.Add(KindUnknownSubject, fmt.Sprintf("%s (subject %s)", shown, excerpt.QuoteN(subject, 32)))
	}
	return Row{Pos: rr.pos, Line: rr.line, Filename: name, AgeYears: age, Subject: subject, Label: label}, true
}

// detectDelimiter picks ',', ';' or tab: whichever the header uses most.
func detectDelimiter(header string) rune {
	best, bestN := ',', strings.Count(header, ",")
	for _, d := range []rune{';', '\t'} {
		if n := strings.Count(header, string(d)); n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

func splitCSVRecord(s string, delim rune) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(s))
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		return nil, err
	}
	if _, err := cr.Read(); err != io.EOF {
		return nil, fmt.Errorf("more than one record")
	}
	return rec, nil
}

// parseCSV reads the file line by line so that one broken line (a stray
// quote, a wrong number of fields) costs that line only. A quoted field may
// span lines; an unbalanced quote that never closes makes its line malformed.
func parseCSV(b []byte, requireFilename bool, rep *Report) (*Metadata, error) {
	lines := strings.Split(string(b), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	// header: the first non-blank line
	h := 0
	for h < len(lines) && strings.TrimSpace(lines[h]) == "" {
		h++
	}
	if h == len(lines) {
		return nil, errs.Configuration("metadata.csv is empty", "write a header line (filename,age_years,subject,expert_label) and one line per drawing", nil)
	}
	delim := detectDelimiter(lines[h])
	header, err := splitCSVRecord(lines[h], delim)
	if err != nil {
		return nil, errs.Configuration(fmt.Sprintf("metadata.csv header (line %d) cannot be parsed", h+1), "write a plain header line: filename,age_years,subject,expert_label", err)
	}
	col := map[string]int{}
	cols := make([]string, len(header))
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		cols[i] = name
		if _, dup := col[name]; !dup {
			col[name] = i
		}
	}
	md := &Metadata{Format: "csv", Columns: cols}
	if err := checkColumns(col, requireFilename, cols); err != nil {
		return nil, err
	}
	get := func(rec []string, name string) (string, bool) {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return "", false
		}
		return rec[i], true
	}
	for i := h + 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		start := i
		text := lines[i]
		if strings.Count(text, `"`)%2 == 1 {
			// a quoted field spans lines: join until the quotes balance
			j, joined, ok := i, text, false
			for j+1 < len(lines) && j-i < 20 {
				j++
				joined += "\n" + lines[j]
				if strings.Count(joined, `"`)%2 == 0 {
					ok = true
					break
				}
			}
			if ok {
				text, i = joined, j
			}
		}
		pos := md.Records
		md.Records++
		rec, err := splitCSVRecord(text, delim)
		if err == nil && len(rec) != len(header) {
			extraEmpty := len(rec) > len(header)
			for _, f := range rec[min(len(rec), len(header)):] {
				if strings.TrimSpace(f) != "" {
					extraEmpty = false
				}
			}
			if !extraEmpty {
				err = fmt.Errorf("%d fields, header has %d", len(rec), len(header))
			}
		}
		if err != nil {
			rep.Add(KindMalformedLine, fmt.Sprintf("line %d", start+1))
			continue
		}
		rr := rawRow{pos: pos, line: start + 1}
		rr.filename, _ = get(rec, "filename")
		rr.age, rr.hasAge = get(rec, "age_years")
		rr.subject, _ = get(rec, "subject")
		rr.label, _ = get(rec, "expert_label")
		if row, ok := validate(rr, requireFilename, rep); ok {
			md.Rows = append(md.Rows, row)
		}
	}
	return md, nil
}

func checkColumns(col map[string]int, requireFilename bool, cols []string) error {
	if _, ok := col["age_years"]; !ok {
		return errs.Configuration(fmt.Sprintf("metadata has no age_years column (columns: %s)", columnList(cols)),
			"add an age_years column with each child's age in years (2 to 18)", nil)
	}
	if _, ok := col["filename"]; requireFilename && !ok {
		return errs.Configuration(fmt.Sprintf("metadata has no filename column (columns: %s)", columnList(cols)),
			"add a filename column naming each row's image (relative path or base name), or provide embeddings.npy", nil)
	}
	return nil
}

// columnList names a header's columns for a message: at most 8, each a
// short escaped excerpt, so a file that is not metadata at all (a server's
// /proc/self/environ, a key file) cannot come back in the error.
func columnList(cols []string) string {
	var out []string
	for i, c := range cols {
		if i == 8 {
			out = append(out, fmt.Sprintf("and %d more", len(cols)-8))
			break
		}
		out = append(out, excerpt.QuoteN(c, 24))
	}
	return strings.Join(out, ", ")
}

// parseJSON accepts an array of objects, or an object holding such an array
// under any key (e.g. {"samples": [...]}). A syntax error part-way keeps the
// entries read before it and counts the rest as one malformed entry.
func parseJSON(b []byte, requireFilename bool, rep *Report) (*Metadata, error) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, errs.Configuration("metadata.json is empty", `write an array of objects: [{"filename": "a.png", "age_years": 7}]`, nil)
	}
	if t[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(t, &obj); err != nil {
			return nil, errs.Configuration("metadata.json cannot be parsed", "write valid JSON: an array of objects, one per drawing", err)
		}
		found := false
		for _, k := range sortedKeys(obj) {
			v := bytes.TrimSpace(obj[k])
			if len(v) > 0 && v[0] == '[' {
				t, found = v, true
				break
			}
		}
		if !found {
			return nil, errs.Configuration("metadata.json holds no array of entries", `write an array of objects, or {"samples": [...]}`, nil)
		}
	}
	if t[0] != '[' {
		return nil, errs.Configuration("metadata.json is not an array of objects", `write [{"filename": "a.png", "age_years": 7, "subject": "house", "expert_label": "normal"}, ...]`, nil)
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, errs.Configuration("metadata.json cannot be parsed", "write valid JSON", err)
	}
	md := &Metadata{Format: "json"}
	seen := map[string]bool{}
	for dec.More() {
		pos := md.Records
		md.Records++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			rep.Add(KindMalformedLine, fmt.Sprintf("entry %d and all after it (%v)", pos+1, err))
			break
		}
		var obj map[string]any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil || obj == nil {
			rep.Add(KindMalformedLine, fmt.Sprintf("entry %d", pos+1))
			continue
		}
		rr := rawRow{pos: pos, line: pos + 1}
		ok := true
		for k, v := range obj {
			key := strings.ToLower(strings.TrimSpace(k))
			seen[key] = true
			s, good := jsonScalar(v)
			switch key {
			case "filename":
				rr.filename, ok = s, ok && good
			case "age_years":
				rr.age, rr.hasAge = s, v != nil
				ok = ok && good
			case "subject":
				rr.subject, ok = s, ok && good
			case "expert_label":
				rr.label, ok = s, ok && good
			}
		}
		if !ok {
			rep.Add(KindMalformedLine, fmt.Sprintf("entry %d (a field is an object or array)", pos+1))
			continue
		}
		if row, good := validate(rr, requireFilename, rep); good {
			md.Rows = append(md.Rows, row)
		}
	}
	for k := range seen {
		md.Columns = append(md.Columns, k)
	}
	sortStrings(md.Columns)
	if md.Records > 0 && len(md.Rows) == 0 {
		col := map[string]int{}
		for i, k := range md.Columns {
			col[k] = i
		}
		if err := checkColumns(col, requireFilename, md.Columns); err != nil {
			return nil, err
		}
	}
	return md, nil
}

// jsonScalar renders a JSON scalar as text; objects and arrays are not scalars.
func jsonScalar(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	default:
		return "", false
	}
}
