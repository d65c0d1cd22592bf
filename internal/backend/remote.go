package backend

import "time"

// RemoteJob is a training job of the account that a backend lists, whether
// or not sagetrain created it (SageMaker's ListTrainingJobs summary).
type RemoteJob struct {
	Name      string    `json:"name"`
	ARN       string    `json:"arn"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}
