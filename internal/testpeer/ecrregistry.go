package testpeer

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// StartECRRegistry starts docker-registry with htpasswd auth whose only user
// and password are those of the ECR authorization token moto hands out, so a
// push that logs in with ECR's GetAuthorizationToken is let in and any
// other is refused. It points the SDK at moto (m.Env) first.
func StartECRRegistry(t testing.TB, m *Moto) *Registry {
	t.Helper()
	m.Env(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("testpeer: load AWS config: %v", err)
	}
	res, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil || len(res.AuthorizationData) == 0 || res.AuthorizationData[0].AuthorizationToken == nil {
		t.Fatalf("testpeer: moto GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(*res.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		t.Fatalf("testpeer: moto's ECR token is not base64: %v", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		t.Fatalf("testpeer: moto's ECR token %q is not user:password", raw)
	}
	return StartRegistry(t, RegistryOptions{Username: user, Password: pass})
}
