package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sagetrain/sagetrain/internal/cost"
	"github.com/sagetrain/sagetrain/internal/dataset"
	"github.com/sagetrain/sagetrain/internal/image"
	"github.com/sagetrain/sagetrain/internal/jobs"
	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/store"
)

// withProvenance gives the job service what it needs to pin a job: tags
// resolved to digests (ECR hosts with the AWS configuration, others with
// the docker credentials), and uploaded data sets' manifest digests. cfg is
// nil when AWS is not configured.
func withProvenance(o jobs.Options, cfg *aws.Config) jobs.Options {
	ro := image.ResolveOptions{}
	if cfg != nil {
		c := *cfg
		ro.LoadAWSConfig = func(ctx context.Context, region string) (aws.Config, error) {
			if region == "" || region == c.Region {
				return c, nil
			}
			return config.LoadDefaultConfig(ctx, config.WithRegion(region))
		}
		o.DataDigest = func(ctx context.Context, uri string) (string, int, error) {
			m, err := dataset.FetchManifest(ctx, c, uri)
			if err != nil {
				return "", 0, err
			}
			if m == nil {
				return "", 0, fmt.Errorf("%s has no %s (not uploaded by sagetrain upload)", uri, dataset.ManifestKey)
			}
			es := make([]provenance.Entry, len(m.Files))
			for i, f := range m.Files {
				es[i] = provenance.Entry{Path: f.Path, Size: f.Size, SHA256: f.SHA256}
			}
			return provenance.Digest(es), len(es), nil
		}
	}
	o.ResolveImage = func(ctx context.Context, ref string) (string, error) { return image.ResolveDigest(ctx, ref, ro) }
	return o
}

// usePriceList prices jobs with the AWS Price List API (cached in the
// store) when AWS is configured; the pinned table stays the default
// otherwise and whenever the API cannot answer.
func usePriceList(cfg *aws.Config, st store.Store) {
	if cfg == nil {
		return
	}
	pc, _ := st.(store.PriceCache)
	cost.SetDefault(cost.NewPriceList(*cfg, pc))
}
