package local

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/backend/backendtest"
)

func TestBackendContract(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	data, out := dataset(t), t.TempDir()
	backendtest.Run(t, backendtest.Harness{
		Backend: newBackend(t, time.Second),
		Name:    func(*testing.T) string { return fmt.Sprintf("contract-%d", n.Add(1)) },
		Request: func(_ *testing.T, name string) *sagemaker.CreateTrainingJobInput {
			return request(name, data, "file://"+out, "ok", 1)
		},
		LogEnd: "epoch 3/3",
		Within: time.Minute,
	})
}
