package jobs

import (
	"context"
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/store"
)

// byJobName finds the one job whose job_name is name; several are an error
// that lists their ids, none is notFound.
func (s *Service) byJobName(ctx context.Context, name string, notFound error) (*store.Job, error) {
	if strings.TrimSpace(name) == "" {
		return nil, notFound
	}
	var same []*store.Job
	f := store.ListFilter{NameContains: name, Limit: store.MaxListLimit}
	for {
		js, next, err := s.st.List(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, j := range js {
			if j.Name == name {
				same = append(same, j)
			}
		}
		if next == "" || len(same) > 1 {
			break
		}
		f.Cursor = next
	}
	switch len(same) {
	case 0:
		return nil, notFound
	case 1:
		return same[0], nil
	}
	ids := make([]string, 0, len(same))
	for _, j := range same {
		ids = append(ids, j.ID)
	}
	return nil, errs.Configuration("several jobs are named "+name+": "+strings.Join(ids, ", "),
		"give the id or the remote name ('sagetrain list --name "+name+"')", nil)
}
