package cli

import "github.com/spf13/cobra"

// jobCommands are the commands that open the job service (jobsOpen) and so
// may talk to SageMaker: each gets --profile and --region, as upload,
// setup, validate and role have their own.
var jobCommands = map[string]bool{
	"submit": true, "status": true, "list": true, "cancel": true, "logs": true, "report": true,
	"quickstart": true, "resume": true, "sweep": true, "attach": true, "compare": true, "model": true,
}

// addJobAWSFlags gives every job command (and the model subcommands)
// --profile and --region, read by jobsOpen.
func addJobAWSFlags(root *cobra.Command) {
	for _, c := range root.Commands() {
		if !jobCommands[c.Name()] {
			continue
		}
		c.PersistentFlags().StringVar(&globals.Profile, "profile", "", "AWS profile for SageMaker jobs (default $AWS_PROFILE)")
		c.PersistentFlags().StringVar(&globals.Region, "region", "", "AWS region for SageMaker jobs (default $AWS_REGION or the profile's)")
	}
}
