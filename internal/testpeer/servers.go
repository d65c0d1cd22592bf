package testpeer

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Region is the region every test server answers for.
const Region = "us-east-1"

// S3 is a versitygw S3 server over a temporary folder.
type S3 struct {
	*Process
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string // the posix backend's root: one folder per bucket
}

// StartS3 starts versitygw with a posix backend in a temporary folder,
// answering for Region.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	return StartS3InRegion(t, Region)
}

// Env sets, for this test, the environment the AWS SDK reads so that it
// talks to this server: credentials, region and AWS_ENDPOINT_URL_S3.
func (s *S3) Env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_ENDPOINT_URL_S3", s.Endpoint)
	isolateAWSConfig(t)
}

// Moto is a moto server: IAM, STS, ECR, CloudWatch Logs and the SageMaker API shape.
type Moto struct {
	*Process
	Endpoint string
}

// StartMoto starts `python3 -m moto.server` on a free port.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	py := lookBin(t, "python3")
	addr := addrOf(FreePort(t))
	port := addr[strings.LastIndex(addr, ":")+1:]
	cmd := exec.Command(py, "-m", "moto.server", "-H", "127.0.0.1", "-p", port)
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	m := &Moto{Endpoint: "http://" + addr}
	m.Process = start(t, "moto", addr, cmd)
	return m
}

// Env points the SDK at moto for IAM, STS, ECR, CloudWatch Logs and
// SageMaker, with moto's fake credentials (any are accepted). S3 is left
// alone: use an S3 server for that.
func (m *Moto) Env(t testing.TB) {
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		t.Setenv("AWS_ACCESS_KEY_ID", "testing")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	}
	t.Setenv("AWS_REGION", Region)
	for _, svc := range []string{"IAM", "STS", "ECR", "CLOUDWATCH_LOGS", "SAGEMAKER", "CLOUDWATCH"} {
		t.Setenv("AWS_ENDPOINT_URL_"+svc, m.Endpoint)
	}
	isolateAWSConfig(t)
}

// Reset clears all of moto's state.
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	resp, err := httpPost(m.Endpoint + "/moto-api/reset")
	if err != nil {
		t.Fatalf("moto reset: %v", err)
	}
	_ = resp
}

// isolateAWSConfig keeps the user's ~/.aws files and profile out of tests.
func isolateAWSConfig(t testing.TB) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Registry is Debian's docker-registry (distribution 2.8).
type Registry struct {
	*Process
	Host     string // 127.0.0.1:PORT, the registry part of an image reference
	Username string // empty when auth is off
	Password string
	Dir      string // filesystem storage root
}

// RegistryOptions configures StartRegistry.
type RegistryOptions struct {
	// Username and Password turn on htpasswd auth with this one user.
	Username, Password string
}

// StartRegistry starts docker-registry with filesystem storage in a temp dir.
func StartRegistry(t testing.TB, opt RegistryOptions) *Registry {
	t.Helper()
	bin := lookBin(t, "docker-registry", "/usr/bin/docker-registry")
	dir := t.TempDir()
	addr := addrOf(FreePort(t))
	r := &Registry{Host: addr, Username: opt.Username, Password: opt.Password, Dir: filepath.Join(dir, "storage")}
	auth := ""
	if opt.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(opt.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htp, []byte(opt.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: testpeer\n    path: %s\n", htp)
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
health:
  storagedriver:
    enabled: false
%s`, r.Dir, addr, auth)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Process = start(t, "docker-registry", addr, exec.Command(bin, "serve", cfgPath))
	return r
}

// PostgresDSN creates a fresh database on the machine's PostgreSQL
// (SAGETRAIN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test)
// and drops it when the test ends. It returns the new database's DSN.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("SAGETRAIN_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("testpeer: postgres: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("sagetrain_test_%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testpeer: create database on %s: %v (is PostgreSQL running? scripts/test.sh starts it)", base, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
