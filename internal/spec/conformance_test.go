package spec

// The request conformance test: every CreateTrainingJob request the project
// can generate is serialised by the SDK's own serialiser (a capturing HTTP
// client stands in for the network) and checked, recursively, against the
// official SageMaker service model, botocore's service-2.json.gz: required
// members, unknown members, string patterns, enums, lengths, numeric ranges
// and list/map sizes. It also checks that InstanceTypes is the model's
// TrainingInstanceType enum.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// excludedInstanceTypes are TrainingInstanceType values the spec refuses on
// purpose. None today: every training instance type is accepted.
var excludedInstanceTypes = map[string]string{}

// modelShape is the part of a botocore shape the checks use.
type modelShape struct {
	Type     string                            `json:"type"`
	Required []string                          `json:"required"`
	Members  map[string]struct{ Shape string } `json:"members"`
	Member   *struct{ Shape string }           `json:"member"`
	Key      *struct{ Shape string }           `json:"key"`
	Value    *struct{ Shape string }           `json:"value"`
	Pattern  string                            `json:"pattern"`
	Enum     []string                          `json:"enum"`
	Min      *float64                          `json:"min"`
	Max      *float64                          `json:"max"`
}

type serviceModel struct {
	Operations map[string]struct {
		Input struct{ Shape string } `json:"input"`
	} `json:"operations"`
	Shapes map[string]modelShape `json:"shapes"`
}

var (
	modelOnce sync.Once
	model     *serviceModel
	modelErr  error
)

// loadModel finds botocore through the python3 on PATH and reads the
// SageMaker model.
func loadModel(t *testing.T) *serviceModel {
	t.Helper()
	modelOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			modelErr = fmt.Errorf("cannot locate botocore with python3 (%w); install it (pip install botocore) or put the Python that has it on PATH", err)
			return
		}
		path := filepath.Join(strings.TrimSpace(string(out)), "data", "sagemaker", "2017-07-24", "service-2.json.gz")
		f, err := os.Open(path)
		if err != nil {
			modelErr = fmt.Errorf("botocore has no SageMaker model at %s: %w", path, err)
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			modelErr = err
			return
		}
		model = &serviceModel{}
		modelErr = json.NewDecoder(zr).Decode(model)
	})
	if modelErr != nil {
		t.Fatalf("service model: %v", modelErr)
	}
	return model
}

// captureClient is an HTTP client that records the request body and answers
// like SageMaker would, so the SDK's serialiser runs without a network.
type captureClient struct{ body []byte }

func (c *captureClient) Do(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.body = b
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": []string{"application/x-amz-json-1.1"}},
		Body:       io.NopCloser(strings.NewReader(`{"TrainingJobArn":"arn:aws:sagemaker:us-east-1:123456789012:training-job/x"}`)),
		Request:    r,
	}, nil
}

// wireJSON serialises in exactly as the SDK sends it.
func wireJSON(t *testing.T, in *sagemaker.CreateTrainingJobInput) map[string]any {
	t.Helper()
	cc := &captureClient{}
	c := sagemaker.New(sagemaker.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   cc,
	})
	if _, err := c.CreateTrainingJob(context.Background(), in); err != nil {
		t.Fatalf("SDK refused the request: %v", err)
	}
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(cc.body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("wire body %q: %v", cc.body, err)
	}
	return v
}

// patternCache holds compiled model patterns; nil means skipped.
var (
	patternMu    sync.Mutex
	patternCache = map[string]*compiledPattern{}
)

type compiledPattern struct {
	re            *regexp.Regexp
	notEndingWith string // a translated trailing negative lookbehind (?<!x)
}

// compilePattern translates a Java pattern to Go's RE2 where it can and
// anchors it (SageMaker matches whole values). Patterns that cannot be
// translated are skipped, with the reason logged.
func compilePattern(t *testing.T, shape, p string) *compiledPattern {
	patternMu.Lock()
	defer patternMu.Unlock()
	if c, ok := patternCache[p]; ok {
		return c
	}
	cp := &compiledPattern{}
	src := p
	if m := regexp.MustCompile(`\(\?<!(\\?.)\)$`).FindStringSubmatch(src); m != nil {
		// RE2 has no lookbehind; a trailing (?<!x) means "does not end in x".
		src = strings.TrimSuffix(src, m[0])
		cp.notEndingWith = strings.TrimPrefix(m[1], `\`)
	}
	src = strings.ReplaceAll(src, `\p{Alnum}`, `a-zA-Z0-9`) // only used inside [...] in this model
	src = regexp.MustCompile(`\\u([0-9a-fA-F]{4})`).ReplaceAllString(src, `\x{$1}`)
	re, err := regexp.Compile(`^(?:` + src + `)$`)
	if err != nil {
		t.Logf("shape %s: pattern %q not checked: Go's regexp cannot express it (%v)", shape, p, err)
		cp = nil
	} else {
		cp.re = re
	}
	patternCache[p] = cp
	return cp
}

// check validates v (decoded wire JSON) against shape, appending violations.
func check(t *testing.T, m *serviceModel, shapeName string, v any, path string, out *[]string) {
	sh, ok := m.Shapes[shapeName]
	if !ok {
		*out = append(*out, fmt.Sprintf("%s: shape %s not in the model", path, shapeName))
		return
	}
	bad := func(format string, args ...any) {
		*out = append(*out, fmt.Sprintf("%s (%s): ", path, shapeName)+fmt.Sprintf(format, args...))
	}
	size := func(n int, what string) {
		if sh.Min != nil && float64(n) < *sh.Min {
			bad("%s %d below the minimum %v", what, n, *sh.Min)
		}
		if sh.Max != nil && float64(n) > *sh.Max {
			bad("%s %d above the maximum %v", what, n, *sh.Max)
		}
	}
	switch sh.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			return
		}
		for _, r := range sh.Required {
			if _, ok := obj[r]; !ok {
				bad("required member %s is missing", r)
			}
		}
		for k, mv := range obj {
			mem, ok := sh.Members[k]
			if !ok {
				bad("member %s is not in the model", k)
				continue
			}
			check(t, m, mem.Shape, mv, path+"."+k, out)
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			bad("want a list, got %T", v)
			return
		}
		size(len(arr), "list length")
		for i, e := range arr {
			check(t, m, sh.Member.Shape, e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a map, got %T", v)
			return
		}
		size(len(obj), "map size")
		for k, e := range obj {
			check(t, m, sh.Key.Shape, k, path+"{key "+k+"}", out)
			check(t, m, sh.Value.Shape, e, path+"["+k+"]", out)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want a string, got %T", v)
			return
		}
		size(utf8.RuneCountInString(s), "length")
		if len(sh.Enum) > 0 && !slices.Contains(sh.Enum, s) {
			bad("%q is not one of the enum's %d values", s, len(sh.Enum))
		}
		if sh.Pattern != "" {
			if cp := compilePattern(t, shapeName, sh.Pattern); cp != nil {
				if !cp.re.MatchString(s) || (cp.notEndingWith != "" && strings.HasSuffix(s, cp.notEndingWith)) {
					bad("%q does not match the pattern %q", s, sh.Pattern)
				}
			}
		}
	case "integer", "long", "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a number, got %T", v)
			return
		}
		f, err := n.Float64()
		if err != nil {
			bad("number %s: %v", n, err)
			return
		}
		if (sh.Type == "integer" || sh.Type == "long") && strings.ContainsAny(n.String(), ".eE") {
			bad("%s is not an integer", n)
		}
		if sh.Min != nil && f < *sh.Min {
			bad("%v below the minimum %v", f, *sh.Min)
		}
		if sh.Max != nil && f > *sh.Max {
			bad("%v above the maximum %v", f, *sh.Max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T", v)
		}
	case "timestamp":
		if _, ok := v.(json.Number); !ok {
			bad("want an epoch-seconds timestamp, got %T", v)
		}
	default:
		t.Logf("%s: shape type %s not checked", path, sh.Type)
	}
}

// conformanceSpecs are representative specs: the smallest SageMaker job,
// everything at once (twice: spot and warm pools exclude each other), and
// every limit at its edge.
func conformanceSpecs() map[string]*Spec {
	base := func() *Spec {
		return &Spec{
			JobName:        "drawing_anomaly_v1",
			Backend:        BackendSageMaker,
			InputDataS3URI: "s3://drawings-bucket/datasets/2024/",
			OutputS3URI:    "s3://drawings-bucket/output/",
			ImageURI:       "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("ab", 32),
			RoleARN:        "arn:aws:iam::123456789012:role/service-role/sagetrain-execution",
		}
	}
	full := func() *Spec {
		s := base()
		s.InputMode = "FastFile"
		s.Channels = map[string]string{"validation": "s3://drawings-bucket/val/", "test": "s3://drawings-bucket/test/"}
		s.InstanceType = "ml.g5.2xlarge"
		s.InstanceCount = 4
		s.VolumeSizeGB = 500
		s.MaxRuntimeSeconds = 7200
		s.Hyperparameters = map[string]string{"epochs": "100", "batch_size": "32", "learning_rate": "0.001", "hidden": "[256, 128, 64, 32]", "note": ""}
		s.EnvironmentVariables = map[string]string{"SAGETRAIN_LOG": "debug", "_UNDERSCORE": "x y\tz"}
		s.Tags = map[string]string{"project": "drawing-screening", "cost-center": "ml/research", "empty": "", "ünïcode": "värde=1"}
		s.VPCSecurityGroupIDs = []string{"sg-0123456789abcdef0", "sg-1"}
		s.VPCSubnets = []string{"subnet-0123456789abcdef0", "subnet-1", "subnet-2"}
		s.VolumeKMSKeyID = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		s.OutputKMSKeyID = "alias/sagetrain-output"
		s.EnableNetworkIsolation = true
		s.MetricDefinitions = []MetricDefinition{{Name: "train:loss", Regex: `train_loss=([0-9.eE+-]+)`}, {Name: "auc", Regex: `test_auroc=(\S+)`}}
		s.RetryMaxAttempts = 3
		return s
	}
	spot := full()
	spot.UseSpotInstances = true
	spot.MaxWaitSeconds = 14400
	spot.CheckpointS3URI = "s3://drawings-bucket/checkpoints/run-1/"
	warm := full()
	warm.KeepAlivePeriodSeconds = MaxKeepAliveSeconds
	warm.InstanceType = "ml.p4d.24xlarge"

	edges := base()
	edges.JobName = strings.Repeat("x_", 128) // 256 characters, the spec's maximum
	edges.InstanceCount = MaxInstanceCount
	edges.VolumeSizeGB = MaxVolumeSizeGB
	edges.MaxRuntimeSeconds = MaxRuntimeLimitSeconds
	edges.RetryMaxAttempts = MaxRetryAttempts
	edges.Hyperparameters = map[string]string{}
	for i := range MaxHyperparameters {
		edges.Hyperparameters[fmt.Sprintf("hp_%03d", i)] = strings.Repeat("v", 2500)
	}
	edges.EnvironmentVariables = map[string]string{}
	for i := range MaxEnvironment {
		edges.EnvironmentVariables[fmt.Sprintf("ENV_%03d", i)] = strings.Repeat("e", 512)
	}
	edges.Tags = map[string]string{}
	for i := range MaxTags {
		edges.Tags[fmt.Sprintf("%03d", i)+strings.Repeat("k", 125)] = strings.Repeat("v", 256)
	}
	for i := range MaxMetricDefinitions {
		edges.MetricDefinitions = append(edges.MetricDefinitions, MetricDefinition{Name: fmt.Sprintf("metric_%02d", i), Regex: fmt.Sprintf(`m%d=([0-9.]+)`, i)})
	}
	edges.VPCSecurityGroupIDs = []string{"sg-1", "sg-2", "sg-3", "sg-4", "sg-5"}
	edges.VPCSubnets = make([]string, 16)
	for i := range edges.VPCSubnets {
		edges.VPCSubnets[i] = fmt.Sprintf("subnet-%02d", i)
	}
	return map[string]*Spec{"minimal": base(), "full-spot": spot, "full-warm-pool": warm, "limits": edges}
}

// request defaults, validates and converts a spec the way submit does.
func request(t *testing.T, s *Spec, suffix string) *sagemaker.CreateTrainingJobInput {
	t.Helper()
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("spec does not validate: %v", err)
	}
	channels := map[string]string{"training": s.InputDataS3URI}
	for k, v := range s.Channels {
		channels[k] = v
	}
	in, err := s.CreateTrainingJobInput(RemoteName(s.JobName, suffix), channels)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func conform(t *testing.T, m *serviceModel, in *sagemaker.CreateTrainingJobInput) {
	t.Helper()
	var problems []string
	check(t, m, m.Operations["CreateTrainingJob"].Input.Shape, wireJSON(t, in), "CreateTrainingJob", &problems)
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

func TestRequestsConformToServiceModel(t *testing.T) {
	m := loadModel(t)
	if m.Operations["CreateTrainingJob"].Input.Shape == "" {
		t.Fatal("the model has no CreateTrainingJob operation")
	}
	for name, s := range conformanceSpecs() {
		t.Run(name, func(t *testing.T) {
			conform(t, m, request(t, s, NewSuffix()))
		})
	}
	t.Run("every instance type", func(t *testing.T) {
		for _, it := range InstanceTypes {
			s := conformanceSpecs()["minimal"]
			s.InstanceType = it
			conform(t, m, request(t, s, "a1"))
		}
	})
}

// The checker itself must catch violations, or a passing test means nothing.
func TestConformanceCheckerCatchesViolations(t *testing.T) {
	m := loadModel(t)
	in := request(t, conformanceSpecs()["full-spot"], "z9")
	in.TrainingJobName = aws.String("bad_name_")                             // pattern
	in.RoleArn = nil                                                         // required
	in.ResourceConfig.InstanceType = types.TrainingInstanceType("ml.fake.1") // enum
	in.RetryStrategy.MaximumRetryAttempts = aws.Int32(31)                    // max
	in.Tags = append(in.Tags, make([]types.Tag, 60)...)                      // list max and key length
	in.StoppingCondition.MaxRuntimeInSeconds = aws.Int32(0)                  // min
	var problems []string
	wire := wireJSONLenient(t, in)
	wire["NotAMember"] = true
	check(t, m, "CreateTrainingJobRequest", wire, "CreateTrainingJob", &problems)
	all := strings.Join(problems, "\n")
	for _, want := range []string{"TrainingJobName", "required member RoleArn", "ml.fake.1", "MaximumRetryAttempts", "list length", "NotAMember", "MaxRuntimeInSeconds"} {
		if !strings.Contains(all, want) {
			t.Errorf("checker missed %s; it found:\n%s", want, all[:min(len(all), 2000)])
		}
	}
}

// wireJSONLenient serialises without the SDK's own required-field
// validation, so deliberately broken inputs reach the checker.
func wireJSONLenient(t *testing.T, in *sagemaker.CreateTrainingJobInput) map[string]any {
	t.Helper()
	roleless := in.RoleArn == nil
	if roleless {
		in.RoleArn = aws.String("placeholder")
	}
	// Tags with nil keys fail the SDK's validation too; give them keys that
	// break the model's length limit instead, still a violation.
	for i := range in.Tags {
		if in.Tags[i].Key == nil {
			in.Tags[i] = types.Tag{Key: aws.String(strings.Repeat("k", 200)), Value: aws.String("v")}
		}
	}
	v := wireJSON(t, in)
	if roleless {
		delete(v, "RoleArn")
	}
	return v
}

func TestInstanceTypesMatchTheModel(t *testing.T) {
	m := loadModel(t)
	enum := m.Shapes["TrainingInstanceType"].Enum
	if len(enum) == 0 {
		t.Fatal("the model has no TrainingInstanceType enum")
	}
	want := map[string]bool{}
	for _, e := range enum {
		if _, excluded := excludedInstanceTypes[e]; !excluded {
			want[e] = true
		}
	}
	have := map[string]bool{}
	for _, it := range InstanceTypes {
		if have[it] {
			t.Errorf("InstanceTypes lists %s twice", it)
		}
		have[it] = true
		if !want[it] {
			t.Errorf("InstanceTypes has %s, which the model's TrainingInstanceType does not", it)
		}
	}
	for e := range want {
		if !have[e] {
			t.Errorf("the model's TrainingInstanceType has %s, which InstanceTypes lacks (regenerate instance_types.go or add it to excludedInstanceTypes with a reason)", e)
		}
	}
	// The SDK this module builds with knows every one of them too.
	sdk := map[string]bool{}
	for _, v := range types.TrainingInstanceType("").Values() {
		sdk[string(v)] = true
	}
	for _, it := range InstanceTypes {
		if !sdk[it] {
			t.Logf("note: %s is in the model but not in aws-sdk-go-v2's TrainingInstanceType values (an older SDK); it is still sent as a plain string", it)
		}
	}
}
