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

// TunerJob is one training job of a hyperparameter tuning job.
type TunerJob struct {
	Name      string
	Status    string
	Params    map[string]string // the tuned hyperparameters
	Objective *float64          // the tuner's final objective value, once known
}
