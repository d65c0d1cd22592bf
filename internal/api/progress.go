package api

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/sagetrain/sagetrain/internal/store"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

// liveProgress is a live job's last progress record (the trainer's
// "progress: {json}" log lines, on both backends), or nil.
func (s *Server) liveProgress(ctx context.Context, j *store.Job) json.RawMessage {
	switch j.Status {
	case store.StatusRunning, store.StatusPreparing, store.StatusStopping:
	default:
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	w := &progressScanner{}
	_ = s.opt.Jobs.Logs(ctx, j.ID, false, w)
	w.line()
	return w.last
}

// progressScanner keeps the last valid progress record of a log stream.
type progressScanner struct {
	cur  []byte
	last json.RawMessage
}

const maxProgressLine = 4 << 10

func (p *progressScanner) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(p.cur)+len(b) <= maxProgressLine {
				p.cur = append(p.cur, b...)
			} else {
				p.cur = append(p.cur[:0], "x"...) // too long to be a record: dropped
			}
			break
		}
		if len(p.cur)+i <= maxProgressLine {
			p.cur = append(p.cur, b[:i]...)
		}
		p.line()
		b = b[i+1:]
	}
	return n, nil
}

func (p *progressScanner) line() {
	l := progress.Parse(string(p.cur))
	p.cur = p.cur[:0]
	if rec, ok := l.(progress.Record); ok {
		p.last, _ = json.Marshal(rec) // re-encoded: only the record's own fields reach the page
	}
}
