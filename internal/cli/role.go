package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagetrain/sagetrain/internal/awssetup"
)

func newRoleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role",
		Short: "The SageMaker execution role of training jobs",
	}
	cmd.AddCommand(newRoleCreateCmd(), newRolePolicyCmd())
	return cmd
}

// roleScopeFlags are the flags that say what the role may touch.
func roleScopeFlags(cmd *cobra.Command, o *awssetup.RoleOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Bucket, "bucket", "", "the S3 bucket of the data and models (required)")
	f.StringVar(&o.InputPrefix, "input-prefix", "", "the data prefix jobs read (empty: the whole bucket)")
	f.StringVar(&o.OutputPrefix, "output-prefix", "", "the prefix jobs write models and output to (empty: the whole bucket)")
	f.StringVar(&o.CheckpointPrefix, "checkpoint-prefix", "", "the prefix of checkpoints (read and write); empty: none")
	f.StringVar(&o.Repository, "repository", "", "the ECR repository of the training image (required)")
}

func newRoleCreateCmd() *cobra.Command {
	var (
		awsf  awssetupFlags
		o     awssetup.RoleOptions
		grace time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create NAME --bucket B --repository R [--input-prefix P] [--output-prefix P] [--checkpoint-prefix P]",
		Short: "Create (or bring up to date) a least-privilege SageMaker execution role and print its ARN",
		Long: `Create the execution role SageMaker assumes to run training jobs. Safe to run
again: an existing role gets the current inline policy.

The trust policy lets only sagemaker.amazonaws.com assume the role, and only on
behalf of this account (aws:SourceAccount). The inline policy "sagetrain-training"
allows exactly what a job does: list and read the input prefix, write the output
and checkpoint prefixes, pull from the repository, write the training log group,
publish metrics in the training namespace. --managed-policy also attaches AWS's
broad AmazonSageMakerFullAccess.

An existing role that does not trust SageMaker is reported; --repair-trust
rewrites its trust policy. The command waits until IAM shows the role.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.Grace = grace
			if grace == 0 {
				o.Grace = -1
			}
			if err := awssetup.CheckRoleOptions(o); err != nil {
				return err
			}
			cfg, err := awsf.load(cmd, 0)
			if err != nil {
				return err
			}
			res, err := awssetup.EnsureRole(cmd.Context(), cfg, o)
			if err != nil {
				return err
			}
			if jsonOutput() {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			switch {
			case res.Created:
				fmt.Fprintf(w, "created role %s\n", res.Name)
			default:
				fmt.Fprintf(w, "role %s exists", res.Name)
				if res.TrustRepaired {
					fmt.Fprint(w, "; trust policy repaired")
				}
				if res.PolicyChanged {
					fmt.Fprint(w, "; inline policy updated")
				}
				fmt.Fprintln(w)
			}
			if res.ManagedPolicy {
				fmt.Fprintln(w, "attached AmazonSageMakerFullAccess")
			}
			fmt.Fprintln(w, res.ARN)
			return nil
		},
	}
	roleScopeFlags(cmd, &o)
	cmd.Flags().BoolVar(&o.ManagedPolicy, "managed-policy", false, "also attach AWS's broad AmazonSageMakerFullAccess")
	cmd.Flags().BoolVar(&o.RepairTrust, "repair-trust", false, "rewrite the trust policy of an existing role that does not trust SageMaker")
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "extra wait after a change, for IAM to reach SageMaker (0: none)")
	awsf.add(cmd)
	return cmd
}

func newRolePolicyCmd() *cobra.Command {
	var (
		o       awssetup.RoleOptions
		account string
		region  string
	)
	cmd := &cobra.Command{
		Use:   "policy --account ID --region R --bucket B --repository R [prefix flags]",
		Short: "Print the trust and inline policy documents 'role create' would use (no AWS call)",
		RunE: func(cmd *cobra.Command, args []string) error {
			scope := awssetup.RoleScope{Bucket: o.Bucket, InputPrefix: o.InputPrefix, OutputPrefix: o.OutputPrefix,
				CheckpointPrefix: o.CheckpointPrefix, Repository: o.Repository, Account: account, Region: region}
			return printJSON(cmd.OutOrStdout(), map[string]any{
				"trust_policy":  awssetup.TrustPolicy(account),
				"inline_policy": awssetup.InlinePolicy(scope),
			})
		},
	}
	roleScopeFlags(cmd, &o)
	cmd.Flags().StringVar(&account, "account", "123456789012", "the account id")
	cmd.Flags().StringVar(&region, "region", "us-east-1", "the region")
	return cmd
}
