package sagemaker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/testpeer"
	"github.com/sagetrain/sagetrain/internal/testpeer/sagemakeremu"
)

// world is the emulated AWS a test runs against: versitygw for S3, moto for
// CloudWatch Logs, our emulator for SageMaker.
type world struct {
	s3srv  *testpeer.S3
	emu    *sagemakeremu.Server
	cfg    aws.Config
	s3     *s3.Client
	bucket string
}

// newWorld starts the servers and points the SDK at them for t.
func newWorld(t *testing.T, trainer []string, env ...string) *world {
	t.Helper()
	w := &world{bucket: "sagetrain-test"}
	w.s3srv = testpeer.StartS3(t)
	moto := testpeer.StartMoto(t)
	w.s3srv.Env(t) // sets the S3 keys first, so moto.Env keeps them
	moto.Env(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	w.cfg = cfg
	w.emu = sagemakeremu.Start(t, cfg, sagemakeremu.Options{Trainer: trainer, StopGrace: 3 * time.Second, Env: env})
	w.emu.Env(t)
	// Reload so the SageMaker endpoint is the emulator's.
	if w.cfg, err = config.LoadDefaultConfig(ctx); err != nil {
		t.Fatal(err)
	}
	w.s3 = s3.NewFromConfig(w.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := w.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return w
}

// fakeTrainer is the quick stand-in for `sagetrain train` in testdata.
func fakeTrainer(t *testing.T) []string {
	p, err := filepath.Abs("testdata/fake-trainer.sh")
	if err != nil {
		t.Fatal(err)
	}
	return []string{p}
}

// backendFor builds the backend with short waits, for tests.
func (w *world) backend(opt Options) *Backend {
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 50 * time.Millisecond
	}
	if opt.CallBackoff == 0 {
		opt.CallBackoff = 20 * time.Millisecond
	}
	if opt.LogPollInterval == 0 {
		opt.LogPollInterval = 100 * time.Millisecond
	}
	return New(w.cfg, opt)
}

// putData uploads a tiny data set under prefix.
func (w *world) putData(t *testing.T, prefix string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		_, err := w.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(prefix + name), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	return fmt.Sprintf("s3://%s/%s", w.bucket, prefix)
}

// request builds a CreateTrainingJobInput from a spec the way submit does.
func (w *world) request(t *testing.T, name, data string, count int32, hp map[string]string) *sm.CreateTrainingJobInput {
	t.Helper()
	s := &spec.Spec{
		JobName:         name,
		Backend:         spec.BackendSageMaker,
		InputDataS3URI:  data,
		OutputS3URI:     fmt.Sprintf("s3://%s/output/", w.bucket),
		ImageURI:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("a", 64),
		RoleARN:         "arn:aws:iam::123456789012:role/sagetrain-execution",
		InstanceCount:   count,
		Hyperparameters: hp,
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	in, err := s.CreateTrainingJobInput(spec.RemoteName(name, spec.NewSuffix()), map[string]string{"training": data})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// waitFor refreshes name until cond holds, recording every status seen.
func waitFor(t *testing.T, b *Backend, name string, timeout time.Duration, cond func(backend.Observation) bool) (backend.Observation, []string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var seen []string
	for {
		got, err := b.Refresh(ctx, []string{name})
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		obs, ok := got[name]
		if !ok {
			t.Fatalf("refresh left out %s", name)
		}
		if len(seen) == 0 || seen[len(seen)-1] != string(obs.Status) {
			seen = append(seen, string(obs.Status))
		}
		if cond(obs) {
			return obs, seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition not reached in %v; last %+v, statuses %v", name, timeout, obs, seen)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func terminal(o backend.Observation) bool { return o.Status.Terminal() }

// noSecrets fails if any of the texts holds the S3 server's keys.
func (w *world) noSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, k := range []string{w.s3srv.AccessKey, w.s3srv.SecretKey} {
			if strings.Contains(s, k) {
				t.Fatalf("a credential leaked into %q", s)
			}
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(b))
}
