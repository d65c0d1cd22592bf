package awssetup

import (
	"context"
	"encoding/json"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// objectARN is the ARN of object name under prefix.
func objectARN(part, bucket, prefix, name string) string {
	if prefix = cleanPrefix(prefix); prefix != "" {
		name = prefix + "/" + name
	}
	return "arn:" + part + ":s3:::" + bucket + "/" + name
}

// rolePolicies returns the documents of the role's inline and attached
// managed policies.
func rolePolicies(ctx context.Context, client *iam.Client, role string) ([]string, error) {
	var docs []string
	names, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &role})
	if err != nil {
		return nil, err
	}
	for _, n := range names.PolicyNames {
		p, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &role, PolicyName: aws.String(n)})
		if err != nil {
			return nil, err
		}
		docs = append(docs, aws.ToString(p.PolicyDocument))
	}
	att, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &role})
	if err != nil {
		return nil, err
	}
	for _, a := range att.AttachedPolicies {
		pol, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: a.PolicyArn})
		if err != nil {
			return nil, err
		}
		v, err := client.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: a.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
		if err != nil {
			return nil, err
		}
		docs = append(docs, aws.ToString(v.PolicyVersion.Document))
	}
	return docs, nil
}

// allowedBy evaluates Allow and Deny statements of docs for one action on
// one resource with IAM's wildcards, ignoring conditions: an approximation
// for when IAM's simulator is not available.
func allowedBy(docs []string, action, resource string) bool {
	allowed := false
	for _, doc := range docs {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
		var raw struct {
			Statement json.RawMessage `json:"Statement"`
		}
		if json.Unmarshal([]byte(doc), &raw) != nil {
			continue
		}
		var stmts []map[string]any
		if json.Unmarshal(raw.Statement, &stmts) != nil {
			var one map[string]any
			if json.Unmarshal(raw.Statement, &one) != nil {
				continue
			}
			stmts = []map[string]any{one}
		}
		for _, st := range stmts {
			if _, not := st["NotAction"]; not {
				continue
			}
			if !matchesAny(st["Action"], action, true) || !matchesAny(st["Resource"], resource, false) {
				continue
			}
			switch st["Effect"] {
			case "Deny":
				if st["Condition"] == nil {
					return false
				}
			case "Allow":
				allowed = true
			}
		}
	}
	return allowed
}

func matchesAny(v any, s string, fold bool) bool {
	var pats []string
	switch x := v.(type) {
	case string:
		pats = []string{x}
	case []any:
		for _, e := range x {
			if p, ok := e.(string); ok {
				pats = append(pats, p)
			}
		}
	}
	for _, p := range pats {
		a, b := p, s
		if fold {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		if wildMatch(a, b) {
			return true
		}
	}
	return false
}

// wildMatch matches IAM patterns: * any run of characters (slashes too), ? one.
func wildMatch(pattern, s string) bool {
	// path.Match stops * at '/', IAM does not: replace '/' by a byte that cannot occur.
	const sep = "\x00"
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(s, "/", sep))
	return err == nil && ok
}
