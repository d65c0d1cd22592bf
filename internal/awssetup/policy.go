package awssetup

import (
	"encoding/json"
	"net/url"
	"strings"
)

// SageMakerService is the service principal that assumes the execution role.
const SageMakerService = "sagemaker.amazonaws.com"

// TrainingLogGroup is the CloudWatch Logs group SageMaker training jobs write to.
const TrainingLogGroup = "/aws/sagemaker/TrainingJobs"

// MetricsNamespace is the CloudWatch namespace of training job metrics.
const MetricsNamespace = "/aws/sagemaker/TrainingJobs"

// InlinePolicyName is the name of the role's inline policy.
const InlinePolicyName = "sagetrain-training"

// ManagedPolicyARNSuffix is AWS's broad managed policy (--managed-policy).
const ManagedPolicyARNSuffix = ":iam::aws:policy/AmazonSageMakerFullAccess"

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement. Action and Resource are always
// lists (IAM accepts both forms).
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// JSON renders the document.
func (d PolicyDocument) JSON() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// Partition returns the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// TrustPolicy lets SageMaker, acting for this account only, assume the role.
func TrustPolicy(account string) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Sid:       "SageMakerAssumeRole",
		Effect:    "Allow",
		Principal: map[string]any{"Service": SageMakerService},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": account}},
	}}}
}

// RoleScope is what the execution role may touch.
type RoleScope struct {
	Bucket           string
	InputPrefix      string // read
	OutputPrefix     string // write (model, output)
	CheckpointPrefix string // read and write; empty = none
	Repository       string // ECR repository name to pull from
	Account, Region  string
}

func cleanPrefix(p string) string { return strings.Trim(p, "/") }

// objectsUnder is the S3 ARN of every object under prefix.
func objectsUnder(part, bucket, prefix string) string {
	if prefix = cleanPrefix(prefix); prefix == "" {
		return "arn:" + part + ":s3:::" + bucket + "/*"
	}
	return "arn:" + part + ":s3:::" + bucket + "/" + prefix + "/*"
}

func listPatterns(prefix string) []string {
	if prefix = cleanPrefix(prefix); prefix == "" {
		return []string{"*"}
	}
	return []string{prefix, prefix + "/*"}
}

// InlinePolicy is the least-privilege policy of a training job: read the
// input (and checkpoints), write output and checkpoints, pull the image,
// write the training log group and metrics namespace. Nothing else.
func InlinePolicy(s RoleScope) PolicyDocument {
	part := Partition(s.Region)
	bucketARN := "arn:" + part + ":s3:::" + s.Bucket
	listPrefixes := listPatterns(s.InputPrefix)
	readObjects := []string{objectsUnder(part, s.Bucket, s.InputPrefix)}
	writeObjects := []string{objectsUnder(part, s.Bucket, s.OutputPrefix)}
	if s.CheckpointPrefix != "" {
		listPrefixes = append(listPrefixes, listPatterns(s.CheckpointPrefix)...)
		readObjects = append(readObjects, objectsUnder(part, s.Bucket, s.CheckpointPrefix))
		writeObjects = append(writeObjects, objectsUnder(part, s.Bucket, s.CheckpointPrefix))
	}
	logGroup := "arn:" + part + ":logs:" + s.Region + ":" + s.Account + ":log-group:" + TrainingLogGroup
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{
		{Sid: "ListTrainingPrefixes", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": listPrefixes}}},
		{Sid: "ReadTrainingData", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: readObjects},
		{Sid: "WriteTrainingOutput", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: writeObjects},
		{Sid: "PullTrainingImage", Effect: "Allow",
			Action:   []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"},
			Resource: []string{"arn:" + part + ":ecr:" + s.Region + ":" + s.Account + ":repository/" + s.Repository}},
		{Sid: "RegistryLogin", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		{Sid: "WriteTrainingLogs", Effect: "Allow",
			Action:   []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			Resource: []string{logGroup, logGroup + ":*"}},
		{Sid: "PublishTrainingMetrics", Effect: "Allow", Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": MetricsNamespace}}},
	}}
}

// TrustsSageMaker reports whether a trust policy (raw or URL-encoded, as IAM
// returns it) lets sagemaker.amazonaws.com assume the role.
func TrustsSageMaker(doc string) bool {
	if d, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(strings.TrimSpace(d), "{") {
		doc = d
	}
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &raw) != nil {
		return false
	}
	var stmts []map[string]any
	if json.Unmarshal(raw.Statement, &stmts) != nil {
		var one map[string]any
		if json.Unmarshal(raw.Statement, &one) != nil {
			return false
		}
		stmts = []map[string]any{one}
	}
	for _, st := range stmts {
		if st["Effect"] != "Allow" || !hasString(st["Action"], "sts:AssumeRole", "sts:*", "*") {
			continue
		}
		p, _ := st["Principal"].(map[string]any)
		if hasString(p["Service"], SageMakerService) {
			return true
		}
	}
	return false
}

func hasString(v any, want ...string) bool {
	var vals []string
	switch x := v.(type) {
	case string:
		vals = []string{x}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				vals = append(vals, s)
			}
		}
	}
	for _, v := range vals {
		for _, w := range want {
			if v == w {
				return true
			}
		}
	}
	return false
}

// normJSON re-encodes a JSON document so that formatting does not matter.
func normJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
