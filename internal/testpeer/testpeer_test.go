package testpeer

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestS3(t *testing.T) {
	srv := StartS3(t)
	srv.Env(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load config (AWS_CA_BUNDLE=%q): %v", "set by machine", err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("peer-test")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 1 || *out.Buckets[0].Name != "peer-test" {
		t.Fatalf("list buckets: %v %+v", err, out)
	}
}

func TestMoto(t *testing.T) {
	m := StartMoto(t)
	m.Env(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) == "" {
		t.Fatalf("sts: %v", err)
	}
}

func TestRegistryAuth(t *testing.T) {
	r := StartRegistry(t, RegistryOptions{Username: "u", Password: "p"})
	resp, err := http.Get(fmt.Sprintf("http://%s/v2/", r.Host))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous /v2/: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/v2/", r.Host), nil)
	req.SetBasicAuth("u", "p")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated /v2/: %d", resp.StatusCode)
	}
}

func TestPostgres(t *testing.T) {
	dsn := PostgresDSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select: %v", err)
	}
}
