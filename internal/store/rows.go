package store

// Scanner is one row as both database/sql and pgx give it.
type Scanner interface{ Scan(dest ...any) error }

// Rows is what *sql.Rows and pgx.Rows share (Close differs; the caller
// closes).
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every row with scan: the loop every driver read wants.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CollectCounts reads "key, count" rows into a map.
func CollectCounts(rows Rows) (map[string]int64, error) {
	out := map[string]int64{}
	for rows.Next() {
		var (
			k string
			n int64
		)
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
