package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// The tuning request is checked against botocore's model like CreateTrainingJob.

func tunerWireJSON(t *testing.T, in *sagemaker.CreateHyperParameterTuningJobInput) map[string]any {
	t.Helper()
	cc := &captureClient{}
	c := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   cc,
	})
	_, _ = c.CreateHyperParameterTuningJob(context.Background(), in) // the canned answer is a training job's; only the request matters
	if len(cc.body) == 0 {
		t.Fatal("the SDK sent no request")
	}
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(cc.body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("wire body %q: %v", cc.body, err)
	}
	return v
}

func TestTuningRequestsConformToServiceModel(t *testing.T) {
	m := loadModel(t)
	op := m.Operations["CreateHyperParameterTuningJob"].Input.Shape
	if op == "" {
		t.Fatal("the model has no CreateHyperParameterTuningJob operation")
	}
	tunings := map[string]Tuning{
		"grid": {Categorical: map[string][]string{"learning_rate": {"0.001", "0.003"}, "dropout": {"0.0", "0.1"}},
			Metric: "test_auroc", Maximize: true, Strategy: "Grid", MaxParallel: 2},
		"bayesian": {Continuous: []TuningRange{{Name: "learning_rate", Lo: 0.0001, Hi: 0.01, Log: true}},
			Integer: []TuningRange{{Name: "epochs", Lo: 5, Hi: 50, Integer: true}},
			Metric:  "val_loss", Strategy: "Bayesian", MaxJobs: 20, MaxParallel: 3},
		"random": {Categorical: map[string][]string{"batch_size": {"16", "32"}}, Continuous: []TuningRange{{Name: "dropout", Lo: 0, Hi: 0.5}},
			Metric: "test_auroc", Maximize: true, Strategy: "Random", MaxJobs: 8, MaxParallel: 2},
	}
	for specName, s := range conformanceSpecs() {
		s.Backend = BackendSageMaker
		for name, tn := range tunings {
			t.Run(specName+"/"+name, func(t *testing.T) {
				s := *s
				s.ApplyDefaults()
				if s.Hyperparameters == nil {
					s.Hyperparameters = map[string]string{}
				}
				if len(s.Hyperparameters) < 100 {
					s.Hyperparameters["epochs"] = "10" // a tuned one must leave the static ones
				}
				if !slices.ContainsFunc(s.MetricDefinitions, func(m MetricDefinition) bool { return m.Name == tn.Metric }) {
					tn.Metric = s.MetricDefinitions[0].Name // specs with their own metric definitions
				}
				channels := map[string]string{"training": s.InputDataS3URI}
				for k, v := range s.Channels {
					channels[k] = v
				}
				in, err := s.CreateHyperParameterTuningJobInput(TunerName(s.JobName+"-a-long-sweep-name-to-cut", "ab12cd34"), channels, tn)
				if len(s.EnvironmentVariables) > MaxTunerEnvironment {
					if err == nil || !strings.Contains(err.Error(), "environment_variables") {
						t.Fatalf("%d environment variables: %v", len(s.EnvironmentVariables), err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				for k := range in.TrainingJobDefinition.StaticHyperParameters {
					if _, tuned := tn.Categorical[k]; tuned || k == "epochs" && len(tn.Integer) > 0 {
						t.Fatalf("tuned hyperparameter %s is also static", k)
					}
				}
				var problems []string
				check(t, m, op, tunerWireJSON(t, in), "CreateHyperParameterTuningJob", &problems)
				sort.Strings(problems)
				for _, p := range problems {
					t.Error(p)
				}
			})
		}
	}
	s := conformanceSpecs()["minimal"]
	s.Backend = BackendSageMaker
	s.ApplyDefaults()
	if _, err := s.CreateHyperParameterTuningJobInput("x", map[string]string{"training": s.InputDataS3URI}, Tuning{Metric: "no_such_metric", Categorical: map[string][]string{"a": {"1"}}}); err == nil || !strings.Contains(err.Error(), "metric definitions") {
		t.Fatalf("an objective outside the metric definitions: %v", err)
	}
}
