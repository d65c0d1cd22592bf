package awssetup

import (
	"os"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// sdkDebug lets the SDK's own log lines through (sagetrain --debug).
var sdkDebug atomic.Bool

// SetDebug turns the SDK's own logging on (with retries and requests
// logged) or off. Off, the default, its lines never reach the user's
// terminal: "Response has no supported checksum. Not validating response
// payload." and the IMDS warnings of the credential chain say nothing a
// user can act on.
func SetDebug(on bool) { sdkDebug.Store(on) }

// loggerOptions are the LoadConfig options of the SDK's logging.
func loggerOptions() []func(*config.LoadOptions) error {
	if sdkDebug.Load() {
		return []func(*config.LoadOptions) error{
			config.WithLogger(logging.NewStandardLogger(os.Stderr)),
			config.WithClientLogMode(aws.LogRetries | aws.LogRequest | aws.LogResponse),
		}
	}
	return []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{}), config.WithClientLogMode(0)}
}
