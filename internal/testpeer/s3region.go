package testpeer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StartS3InRegion starts versitygw with a posix backend in a temporary
// folder, answering for region, so tests can meet a bucket that lives in
// another region than the client's (versitygw answers GetBucketLocation with
// it and rejects requests signed for another region, as S3 does). Its Env
// still sets AWS_REGION=Region.
func StartS3InRegion(t testing.TB, region string) *S3 {
	t.Helper()
	bin := lookBin(t, "versitygw")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	iam := filepath.Join(dir, "iam")
	for _, d := range []string{data, iam} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := addrOf(FreePort(t))
	s := &S3{AccessKey: "testpeer-access", SecretKey: "testpeer-secret-key", Dir: data, Endpoint: "http://" + addr}
	cmd := exec.Command(bin, "--port", addr, "--iam-dir", iam, "--region", region, "--quiet", "posix", data)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	s.Process = start(t, "versitygw "+region, addr, cmd)
	return s
}
