package sagemaker

import (
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend/backendtest"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// The SageMaker backend, talking to the emulator, passes the same contract
// as the local backend.
func TestBackendContract(t *testing.T) {
	w := newWorld(t, fakeTrainer(t))
	data := w.putData(t, "data/contract/", sampleData)
	backendtest.Run(t, backendtest.Harness{
		Backend: w.backend(Options{}),
		Name:    func(*testing.T) string { return spec.RemoteName("contract", spec.NewSuffix()) },
		Request: func(t *testing.T, name string) *sm.CreateTrainingJobInput {
			in := w.request(t, "contract", data, 1, map[string]string{"sleep": "0.2"})
			in.TrainingJobName = &name
			return in
		},
		LogEnd: "done on algo-1",
		Within: time.Minute,
	})
}
