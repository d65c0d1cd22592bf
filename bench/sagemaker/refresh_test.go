package sagemakerbench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	smbackend "github.com/sagetrain/sagetrain/internal/backend/sagemaker"
	"github.com/sagetrain/sagetrain/internal/testpeer/sagemakeremu"
)

// margin is the backend's skew margin in the benchmark; production uses
// 5 minutes, which only changes how long a job stays in the list after a
// change, not the calls per changed job.
const margin = 200 * time.Millisecond

type fixture struct {
	emu   *sagemakeremu.Server
	cfg   aws.Config
	names []string
}

func setup(tb testing.TB, n int) *fixture {
	tb.Helper()
	tb.Setenv("AWS_ACCESS_KEY_ID", "bench")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "bench")
	tb.Setenv("AWS_REGION", "us-east-1")
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tb.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	// Seeded jobs never run, so the emulator never touches S3 or CloudWatch.
	emu := sagemakeremu.Start(tb, cfg, sagemakeremu.Options{Trainer: []string{"/bin/false"}})
	emu.Env(tb)
	if cfg, err = config.LoadDefaultConfig(context.Background()); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{emu: emu, cfg: cfg}
	for i := range n {
		name := fmt.Sprintf("bench-job-%05d", i)
		emu.Seed(name)
		f.names = append(f.names, name)
	}
	return f
}

// originalTick is what the original monitor did every 30 s: one
// DescribeTrainingJob per live job.
func originalTick(ctx context.Context, c *sm.Client, names []string) error {
	for _, n := range names {
		if _, err := c.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(n)}); err != nil {
			return err
		}
	}
	return nil
}

// change moves k jobs to a new secondary status, as SageMaker would.
func (f *fixture) change(tb testing.TB, k, round int) {
	secondary := []string{"Uploading", "Training"}[round%2]
	for i := range k {
		if err := f.emu.SetStatus(f.names[(i*7919)%len(f.names)], "InProgress", secondary); err != nil {
			tb.Fatal(err)
		}
	}
}

type row struct {
	jobs                          int
	original                      int
	cold, steady, changed, inside int
	changedJobs                   int
	oursTime, origTime            time.Duration
}

func measure(t *testing.T, n int) row {
	f := setup(t, n)
	ctx := context.Background()
	b := smbackend.New(f.cfg, smbackend.Options{ModifiedMargin: margin})
	calls := func() int {
		c := f.emu.Calls()
		return c["DescribeTrainingJob"] + c["ListTrainingJobs"]
	}
	refreshWith := func(b *smbackend.Backend) (int, time.Duration) {
		f.emu.ResetCalls()
		start := time.Now()
		got, err := b.Refresh(ctx, f.names)
		if err != nil || len(got) != n {
			t.Fatalf("refresh of %d jobs: %d observed, %v", n, len(got), err)
		}
		return calls(), time.Since(start)
	}
	refresh := func() (int, time.Duration) { return refreshWith(b) }
	r := row{jobs: n, changedJobs: int(math.Ceil(float64(n) * 0.05))}

	time.Sleep(margin + 50*time.Millisecond) // the seeding is older than the margin
	r.cold, _ = refresh()
	time.Sleep(margin + 50*time.Millisecond)
	r.steady, r.oursTime = refresh()
	time.Sleep(margin + 50*time.Millisecond)
	f.change(t, r.changedJobs, 1)
	r.changed, _ = refresh()
	// Every job seen within the margin: with the production margin of
	// 5 minutes, each is listed (none described) for 5 minutes after it was
	// last seen.
	prod := smbackend.New(f.cfg, smbackend.Options{})
	refreshWith(prod)
	r.inside, _ = refreshWith(prod)
	c := sm.NewFromConfig(f.cfg)
	f.emu.ResetCalls()
	start := time.Now()
	if err := originalTick(ctx, c, f.names); err != nil {
		t.Fatal(err)
	}
	r.origTime = time.Since(start)
	r.original = calls()
	return r
}

// TestRefreshCallTable prints the table of bench/results/sagemaker.md and
// checks the claims made there.
func TestRefreshCallTable(t *testing.T) {
	var out strings.Builder
	fmt.Fprintf(&out, "| live jobs | original (Describe per job) | ours, first refresh | ours, nothing changed | ours, 5%% changed | ours, all seen within the 5 min margin | ours vs original, nothing changed | wall time ours / original |\n")
	fmt.Fprintf(&out, "|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range []int{1, 100, 1000} {
		r := measure(t, n)
		fmt.Fprintf(&out, "| %d | %d | %d | %d | %d (%d describes) | %d | %.0fx fewer | %v / %v |\n",
			r.jobs, r.original, r.cold, r.steady, r.changed, r.changedJobs, r.inside,
			float64(r.original)/float64(r.steady), r.oursTime.Round(100*time.Microsecond), r.origTime.Round(100*time.Microsecond))
		if r.original != n || r.cold != n {
			t.Errorf("%d jobs: original %d, first refresh %d; both should be one describe per job", n, r.original, r.cold)
		}
		if r.steady != 1 {
			t.Errorf("%d jobs: an unchanged refresh took %d calls, want 1 list call", n, r.steady)
		}
		if want := 1 + r.changedJobs; r.changed != want {
			t.Errorf("%d jobs: %d changed cost %d calls, want %d", n, r.changedJobs, r.changed, want)
		}
		if want := (n + 99) / 100; r.inside != want {
			t.Errorf("%d jobs: within the margin %d calls, want %d list pages", n, r.inside, want)
		}
	}
	t.Log("\n" + out.String())
}

// BenchmarkRefresh reports calls and time per refresh of 1000 live jobs.
func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("ours/jobs=%d", n), func(b *testing.B) {
			f := setup(b, n)
			ctx := context.Background()
			be := smbackend.New(f.cfg, smbackend.Options{ModifiedMargin: margin})
			time.Sleep(margin + 50*time.Millisecond)            // the seeding is older than the margin
			if _, err := be.Refresh(ctx, f.names); err != nil { // warm the cache
				b.Fatal(err)
			}
			time.Sleep(margin + 50*time.Millisecond)
			f.emu.ResetCalls()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := be.Refresh(ctx, f.names); err != nil {
					b.Fatal(err)
				}
			}
			c := f.emu.Calls()
			b.ReportMetric(float64(c["DescribeTrainingJob"]+c["ListTrainingJobs"])/float64(b.N), "calls/refresh")
		})
		b.Run(fmt.Sprintf("original/jobs=%d", n), func(b *testing.B) {
			f := setup(b, n)
			ctx := context.Background()
			c := sm.NewFromConfig(f.cfg)
			f.emu.ResetCalls()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := originalTick(ctx, c, f.names); err != nil {
					b.Fatal(err)
				}
			}
			calls := f.emu.Calls()
			b.ReportMetric(float64(calls["DescribeTrainingJob"])/float64(b.N), "calls/refresh")
		})
	}
}
