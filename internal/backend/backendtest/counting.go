package backendtest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend"
)

// Counter tallies Create and FetchArtifacts calls per job name, across every
// backend it wraps (two replicas, each with its own backend, share one).
type Counter struct {
	mu                   sync.Mutex
	calls, made, fetches map[string]int
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter {
	return &Counter{calls: map[string]int{}, made: map[string]int{}, fetches: map[string]int{}}
}

// Wrap returns b with its Create and FetchArtifacts counted by c.
func (c *Counter) Wrap(b backend.Backend) *Counting { return &Counting{Backend: b, Counter: c} }

// Creates is how many times Create was called for name.
func (c *Counter) Creates(name string) int { return c.get(c.calls, name) }

// Made is how many of those calls made a new job (returned no error); a
// repeated Create of the same name is answered with a conflict and is not
// counted here.
func (c *Counter) Made(name string) int { return c.get(c.made, name) }

// Fetches is how many times FetchArtifacts was called for name.
func (c *Counter) Fetches(name string) int { return c.get(c.fetches, name) }

func (c *Counter) get(m map[string]int, name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[name]
}

func (c *Counter) add(m map[string]int, name string) {
	c.mu.Lock()
	m[name]++
	c.mu.Unlock()
}

// Counting is a backend whose Create and FetchArtifacts calls a Counter counts.
type Counting struct {
	backend.Backend
	Counter *Counter
}

// Create counts the call, and the job it made when it made one.
func (c *Counting) Create(ctx context.Context, in *sagemaker.CreateTrainingJobInput) (string, error) {
	name := ""
	if in.TrainingJobName != nil {
		name = *in.TrainingJobName
	}
	c.Counter.add(c.Counter.calls, name)
	arn, err := c.Backend.Create(ctx, in)
	if err == nil {
		c.Counter.add(c.Counter.made, name)
	}
	return arn, err
}

// FetchArtifacts counts the call.
func (c *Counting) FetchArtifacts(ctx context.Context, obs backend.Observation, dir string) error {
	c.Counter.add(c.Counter.fetches, obs.RemoteName)
	return c.Backend.FetchArtifacts(ctx, obs, dir)
}
