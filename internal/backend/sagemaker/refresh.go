package sagemaker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"golang.org/x/sync/errgroup"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// describeParallelism bounds concurrent DescribeTrainingJob calls in Refresh
// (SageMaker's default rate for Describe is a few calls per second).
const describeParallelism = 4

// Refresh observes the named jobs. Jobs this process has not seen yet are
// described once; the others are found with ListTrainingJobs filtered on
// LastModifiedTimeAfter (one page per 100 recently modified jobs in the
// account), and described again only when their status, secondary status or
// modification time differs from what was last seen. Ended jobs come from
// the cache. Names SageMaker does not know are left out.
//
// On error (AWS kept throttling or failing after all retries) the map holds
// the jobs observed before the failure, and the caller should keep the
// others as they were.
func (b *Backend) Refresh(ctx context.Context, names []string) (map[string]backend.Observation, error) {
	out := make(map[string]backend.Observation, len(names))
	var unknown, live []string
	b.mu.Lock()
	asked := make(map[string]bool, len(names))
	for _, n := range names {
		asked[n] = true
	}
	for n, s := range b.cache {
		// Ended jobs the caller no longer asks about are done with: keep
		// the cache as small as the set of live jobs.
		if s.obs.Status.Terminal() && !asked[n] {
			delete(b.cache, n)
		}
	}
	cached := make(map[string]seen, len(names))
	for _, n := range names {
		s, ok := b.cache[n]
		switch {
		case !ok:
			unknown = append(unknown, n)
		case s.obs.Status.Terminal():
			out[n] = s.obs
		default:
			cached[n] = s
			live = append(live, n)
		}
	}
	b.mu.Unlock()

	defer b.saveCache()
	changed, err := b.listChanged(ctx, live, cached, out)
	if err != nil {
		return out, err
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(describeParallelism)
	for _, n := range append(unknown, changed...) {
		g.Go(func() error {
			obs, err := b.Describe(gctx, n)
			if err != nil {
				if errors.Is(err, errs.ErrNotFound) { // SageMaker never heard of it: leave it out
					return nil
				}
				return err
			}
			mu.Lock()
			out[n] = obs
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// listChanged lists jobs modified since the live jobs were last seen. Jobs
// the list shows unchanged (or does not show at all) go straight into out
// from the cache; the names of those that changed are returned.
func (b *Backend) listChanged(ctx context.Context, live []string, cached map[string]seen, out map[string]backend.Observation) ([]string, error) {
	if len(live) == 0 {
		return nil, nil
	}
	// A change after we looked has a modification time after both what we
	// saw (less a second: times are compared strictly) and our clock at the
	// time, less the margin for skew and latency.
	var cutoff time.Time
	for i, n := range live {
		s := cached[n]
		c := s.obs.LastModified.Add(-time.Second)
		if t := s.observedAt.Add(-b.opt.ModifiedMargin); t.After(c) {
			c = t
		}
		if i == 0 || c.Before(cutoff) {
			cutoff = c
		}
	}
	in := &sm.ListTrainingJobsInput{
		LastModifiedTimeAfter: aws.Time(cutoff),
		MaxResults:            aws.Int32(100),
		SortBy:                types.SortByCreationTime,
		SortOrder:             types.SortOrderAscending, // new jobs land on the last page: stable paging
	}
	if len(live) == 1 {
		in.NameContains = aws.String(live[0])
	}
	listStart := time.Now()
	var changed []string
	listed := map[string]bool{}
	p := sm.NewListTrainingJobsPaginator(b.sm, in)
	for p.HasMorePages() {
		var page *sm.ListTrainingJobsOutput
		err := b.call(ctx, func(ctx context.Context) (err error) {
			page, err = p.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, apiErr("list SageMaker training jobs", err)
		}
		for _, sum := range page.TrainingJobSummaries {
			n := aws.ToString(sum.TrainingJobName)
			s, ok := cached[n]
			if !ok || listed[n] {
				continue
			}
			listed[n] = true
			if string(sum.TrainingJobStatus) != s.status ||
				(sum.SecondaryStatus != "" && string(sum.SecondaryStatus) != s.obs.SecondaryStatus) ||
				!aws.ToTime(sum.LastModifiedTime).Equal(s.obs.LastModified) {
				changed = append(changed, n)
			}
		}
	}
	changedSet := make(map[string]bool, len(changed))
	for _, n := range changed {
		changedSet[n] = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range live {
		if changedSet[n] {
			continue
		}
		s := cached[n]
		out[n] = s.obs
		// Unchanged as of the list: move the window forward.
		if cur, ok := b.cache[n]; ok && cur.observedAt.Before(listStart) {
			cur.observedAt = listStart
			b.cache[n] = cur
		}
	}
	return changed, nil
}
