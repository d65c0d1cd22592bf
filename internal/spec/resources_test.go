package spec

import (
	"strings"
	"testing"
)

func TestResourceBounds(t *testing.T) {
	for hp, field := range map[string]string{
		"hidden_sizes=100000000,100000000":               "hyperparameters.hidden_sizes",
		"hidden_sizes=" + strings.Repeat("8,", 40) + "8": "hyperparameters.hidden_sizes",
		"batch_size=100000000":                           "hyperparameters.batch_size",
		"epochs=1000000000":                              "hyperparameters.epochs",
		"workers=100000":                                 "hyperparameters.workers",
	} {
		k, v, _ := strings.Cut(hp, "=")
		s := &Spec{JobName: "big", DatasetFolder: "/d", Hyperparameters: map[string]string{k: v}}
		s.ApplyDefaults()
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), "at most") {
			t.Errorf("%s: %v", hp, err)
		}
	}
	est, vs := Resources(map[string]string{})
	if len(vs) != 0 || est <= 0 || est > 64<<20 {
		t.Fatalf("the default network: %s, %v", FormatBytes(est), vs)
	}
	big, _ := Resources(map[string]string{"hidden_sizes": "16384,16384,16384", "batch_size": "4096"})
	if big <= DefaultMaxJobMemory {
		t.Fatalf("a network of three 16,384-unit layers is estimated at only %s", FormatBytes(big))
	}
}

func TestLocalJobsRefuseLoaderVariables(t *testing.T) {
	for _, k := range []string{"LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "GCONV_PATH", "PATH", "HOME", "SAGETRAIN_API_TOKENS", "AWS_ACCESS_KEY_ID"} {
		s := &Spec{JobName: "env", DatasetFolder: "/d", EnvironmentVariables: map[string]string{k: "x"}}
		s.ApplyDefaults()
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "environment_variables."+k) {
			t.Errorf("%s: %v", k, err)
		}
		// A SageMaker container is the user's own.
		s.Backend = BackendSageMaker
		if err := s.Validate(); err != nil && strings.Contains(err.Error(), "environment_variables."+k) {
			t.Errorf("sagemaker %s: %v", k, err)
		}
	}
	s := &Spec{JobName: "env", DatasetFolder: "/d", EnvironmentVariables: map[string]string{"MY_SETTING": "x"}}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4GiB": 4 << 30, "512MiB": 512 << 20, "2G": 2 << 30, "1048576": 1 << 20} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("%s = %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1G", "lots", "0"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
