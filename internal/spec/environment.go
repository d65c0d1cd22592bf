package spec

import "strings"

// refusedEnvPrefixes and refusedEnvNames are the variables a local job may
// not set: they change how the trainer process is loaded or run (the
// dynamic loader, glibc, the shell, where programs are found), or they are
// credentials and sagetrain's own settings, which a job must neither get
// nor forge. A local job runs as the server's user, so these would hand a
// token holder the server. A SageMaker job runs in the user's own
// container, where its environment is the user's business.
var (
	refusedEnvPrefixes = []string{"LD_", "DYLD_", "SAGETRAIN_", "AWS_", "MALLOC_", "GLIBC_", "BASH_FUNC_"}
	refusedEnvNames    = map[string]bool{
		"GCONV_PATH": true, "PATH": true, "HOME": true, "IFS": true, "ENV": true, "BASH_ENV": true,
		"LOCPATH": true, "NLSPATH": true, "HOSTALIASES": true, "RES_OPTIONS": true, "LOCALDOMAIN": true,
		"TMPDIR": true, "SHELL": true, "GODEBUG": true, "GOTRACEBACK": true, "GORACE": true, "GOCOVERDIR": true,
		"TRAINING_JOB_NAME": true, "TRAINING_JOB_ARN": true,
	}
)

// RefusedLocalEnv returns why a local job may not set the environment
// variable name, or "" when it may.
func RefusedLocalEnv(name string) string {
	up := strings.ToUpper(name)
	for _, p := range refusedEnvPrefixes {
		if strings.HasPrefix(up, p) {
			return "is refused for local jobs: " + p + "* variables change how the trainer is loaded or run, or carry credentials and sagetrain's own settings; remove it (a SageMaker job's container may set it)"
		}
	}
	if refusedEnvNames[up] {
		return "is refused for local jobs: it changes how the trainer is loaded or run, or is set by sagetrain itself; remove it (a SageMaker job's container may set it)"
	}
	return ""
}
