package local

import (
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/jobtype"
)

// A job's folder, <root>/<remote-name>/, holds everything any process needs
// to follow the job, so the process that created it may go away:
//
//	job.json        the request (CreateTrainingJobInput) and how to run it
//	pid.json        the detached runner's pid and start time (written by Create)
//	state.json      status, secondary status and transitions (written by the runner);
//	                Final=true is the exit record
//	stop            present once a stop was asked (its time is the content)
//	job.log         the trainers' stdout and stderr (prefixed [algo-N] when N>1)
//	data/<channel>  channels downloaded from s3://
//	hosts/algo-N/   each host's ml-root: input/config/*.json, input/data/<channel>
//	                (a folder tree of hard links to the channel's files),
//	                model/, output/, output/data/, checkpoints/
//	artifacts/<remote-name>/output/{model,output}.tar.gz when the spec gives
//	                no local output folder
const (
	fileJob   = "job.json"
	filePid   = "pid.json"
	fileState = "state.json"
	fileStop  = "stop"
	fileLog   = "job.log"
	fileLock  = ".create.lock"
	// fileReserve holds space for the exit record while the runner runs.
	fileReserve = ".reserve"
)

// jobFile is job.json.
type jobFile struct {
	Name       string                            `json:"name"`
	ARN        string                            `json:"arn"`
	CreatedAt  time.Time                         `json:"created_at"`
	Executable string                            `json:"executable"` // the binary whose `train` runs on each host
	StopGrace  time.Duration                     `json:"stop_grace_ns"`
	OutputBase string                            `json:"output_base"`           // <output>; artifacts go to <output>/<name>/output/
	TrainerEnv []string                          `json:"trainer_env,omitempty"` // Options.Env: the only variables of the creating process a trainer gets
	Request    *sagemaker.CreateTrainingJobInput `json:"request"`
	// ServiceEnv are the job service's own variables for the trainer (the
	// provenance digests), set after the job's environment.
	ServiceEnv map[string]string `json:"service_env,omitempty"`
}

// pidFile is pid.json: enough to recognise the runner even after pid reuse.
type pidFile struct {
	Pid        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"` // /proc/<pid>/stat field 22
}

// stateFile is state.json, rewritten atomically at every transition.
type stateFile struct {
	Status          jobtype.Status       `json:"status"`
	SecondaryStatus string               `json:"secondary_status"`
	Message         string               `json:"message"`
	FailureReason   string               `json:"failure_reason,omitempty"`
	Transitions     []backend.Transition `json:"transitions"`
	StartedAt       *time.Time           `json:"started_at,omitempty"` // training started
	EndedAt         *time.Time           `json:"ended_at,omitempty"`
	ExitCodes       map[string]int       `json:"exit_codes,omitempty"`
	ModelArtifacts  string               `json:"model_artifacts,omitempty"`
	OutputArtifacts string               `json:"output_artifacts,omitempty"`
	LastModified    time.Time            `json:"last_modified"`
	Final           bool                 `json:"final"` // the exit record: nothing changes any more
}

// transition moves the state to a new secondary status, closing the previous one.
func (s *stateFile) transition(status jobtype.Status, secondary, message string, now time.Time) {
	if n := len(s.Transitions); n > 0 && s.Transitions[n-1].EndTime == nil {
		t := now
		s.Transitions[n-1].EndTime = &t
	}
	s.Status, s.SecondaryStatus, s.Message = status, secondary, message
	s.Transitions = append(s.Transitions, backend.Transition{Status: secondary, JobStatus: status, StartTime: now, StatusMessage: message})
	s.LastModified = now
}

// finish records the exit: a terminal status, closing the last transition too.
func (s *stateFile) finish(status jobtype.Status, secondary, message, reason string, now time.Time) {
	s.transition(status, secondary, message, now)
	t := now
	s.Transitions[len(s.Transitions)-1].EndTime = &t
	s.EndedAt = &t
	s.FailureReason = reason
	s.Final = true
}

// writeJSONAtomic writes v to path through a temporary file and a rename, so
// readers in other processes never see half a file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
