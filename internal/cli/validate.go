package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/spec"
)

func newValidateCmd() *cobra.Command {
	var (
		awsf           awssetupFlags
		o              awssetup.ValidateOptions
		root, specPath string
	)
	cmd := &cobra.Command{
		Use:   "validate [--bucket B --prefix P] [--repository R] [--role NAME|ARN] [--spec job.yaml] [--read-only]",
		Short: "Check that the account, region, bucket, repository and role are ready for SageMaker jobs",
		Long: `Validate checks, and reports with a one-line fix for each problem:
identity (STS, for users and roles alike), region, SageMaker access, the bucket
(exists, same region, prefix listable, and writable by a probe object that is
deleted again unless --read-only), the ECR repository, and the execution role
(exists, trusts SageMaker, has the permissions a job needs: simulated by IAM
where you may, else evaluated from the role's policies with a warning).

--prefix is the root prefix, as in setup: <prefix>/data is checked for
reading, <prefix>/output for writing. --spec job.yaml checks instead the exact
prefixes that spec's SageMaker job reads and writes (its input_data_s3_uri, or
the <output>/<job>/input/ prefix submit uploads a local dataset_folder to, its
output and checkpoints), its role_arn and its image's repository.

The exit code is 0 when the configuration is valid, 2 when it is not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := validateOptions(cmd, o, root, specPath)
			if err != nil {
				return err
			}
			cfg, err := awsf.load(cmd, 0)
			if err != nil {
				return err
			}
			r := awssetup.Validate(cmd.Context(), cfg, o)
			if jsonOutput() {
				if err := printJSON(cmd.OutOrStdout(), r); err != nil {
					return err
				}
			} else {
				validatePrintReport(cmd.OutOrStdout(), r)
			}
			if !r.IsValid {
				return errs.Configuration(fmt.Sprintf("the configuration is not valid: %d error(s)", len(r.Errors)),
					"apply the fixes listed above, then run validate again", nil)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Bucket, "bucket", "", "the S3 bucket of the data and models")
	f.StringVar(&root, "prefix", awssetup.DefaultPrefix, "the root prefix in the bucket, as in setup: <prefix>/data is read, <prefix>/output written")
	f.StringVar(&o.OutputPrefix, "output-prefix", "", "where jobs write (default: <prefix>/output)")
	f.StringVar(&o.Repository, "repository", "", "the ECR repository of the training image")
	f.StringVar(&o.Role, "role", awssetup.DefaultRoleName, "the execution role, by name or ARN")
	f.StringVar(&specPath, "spec", "", "check the exact prefixes, role and repository this job spec will use")
	f.BoolVar(&o.ReadOnly, "read-only", false, "do not write a probe object")
	awsf.add(cmd)
	return cmd
}

func validatePrintReport(w io.Writer, r *awssetup.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tRESULT")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(c.Status), c.Name, c.Message)
		if c.Fix != "" && (c.Status == awssetup.StatusError || c.Status == awssetup.StatusWarning) {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	tw.Flush()
	keys := make([]string, 0, len(r.Found))
	for k := range r.Found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w)
	for _, k := range keys {
		fmt.Fprintf(w, "%-15s %s\n", k+":", r.Found[k])
	}
	verdict := "VALID"
	if !r.IsValid {
		verdict = "NOT VALID"
	}
	fmt.Fprintf(w, "\n%s: %d error(s), %d warning(s)\n", verdict, len(r.Errors), len(r.Warnings))
}

// validateOptions turns the flags into the checks: the layout under the
// root prefix, or the exact locations of a spec.
func validateOptions(cmd *cobra.Command, o awssetup.ValidateOptions, root, specPath string) (awssetup.ValidateOptions, error) {
	if specPath == "" {
		lay := awssetup.Layout{Bucket: o.Bucket, Root: root}
		o.Prefix = lay.DataPrefix()
		if o.OutputPrefix == "" {
			o.OutputPrefix = lay.OutputPrefix()
		}
		return o, nil
	}
	sp, err := spec.Load(specPath)
	if err != nil {
		return o, err
	}
	so, err := awssetup.ValidateOptionsForSpec(sp)
	if err != nil {
		return o, err
	}
	so.ReadOnly = o.ReadOnly
	if so.Role == "" || cmd.Flags().Changed("role") {
		so.Role = o.Role
	}
	if so.Repository == "" || cmd.Flags().Changed("repository") {
		so.Repository = o.Repository
	}
	return so, nil
}
