package sagemaker

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// call runs one API call, retrying on top of the SDK's retryer when AWS
// throttles, answers 5xx or the network fails: the SDK gives up after
// MaxAttempts within seconds, while a reconciler would rather wait a little
// longer than report an error.
func (b *Backend) call(ctx context.Context, fn func(context.Context) error) error {
	wait := b.opt.CallBackoff
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt >= b.opt.CallRetries || !retryable(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
		wait *= 2
	}
}

// retryable reports throttling, server-side and network errors: the ones
// that say nothing about the job and must never change its status.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) {
		return true
	}
	code, _ := errCode(err)
	if _, throttle := retry.DefaultThrottleErrorCodes[code]; throttle {
		return true
	}
	switch code {
	case "InternalFailure", "InternalServerError", "ServiceUnavailable":
		return true
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// errCode returns the AWS error code and message of err, if it has them.
func errCode(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}
