package api

import (
	"strings"
	"testing"
)

func TestSubmitRefusesHugeNetworksAndLoaderVariables(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxJobMemory = 256 << 20 })
	for body, want := range map[string]string{
		`{"job_name":"huge","input_data_s3_uri":"s3://b/p","hyperparameters":{"hidden_sizes":"100000000,100000000"}}`: "hyperparameters.hidden_sizes",
		`{"job_name":"huge","input_data_s3_uri":"s3://b/p","hyperparameters":{"batch_size":"999999999"}}`:             "hyperparameters.batch_size",
		`{"job_name":"big","input_data_s3_uri":"s3://b/p","hyperparameters":{"hidden_sizes":"8192,8192"}}`:            "estimated",
		`{"job_name":"ldp","input_data_s3_uri":"s3://b/p","environment_variables":{"LD_PRELOAD":"/x.so"}}`:            "environment_variables.LD_PRELOAD",
		`{"job_name":"aws","input_data_s3_uri":"s3://b/p","environment_variables":{"AWS_SECRET_ACCESS_KEY":"x"}}`:     "environment_variables.AWS_SECRET_ACCESS_KEY",
	} {
		code, b, _ := h.do("POST", Prefix+"/jobs", testToken, strings.NewReader(body))
		if code != 422 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s", body, code, b)
		}
		if want == "estimated" && !strings.Contains(string(b), "GiB") {
			t.Errorf("the message lacks the estimate: %s", b)
		}
	}
	var j JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"fine","input_data_s3_uri":"s3://b/p","hyperparameters":{"hidden_sizes":"512,256"},"environment_variables":{"MY_FLAG":"1"}}`, 201, &j)
}
