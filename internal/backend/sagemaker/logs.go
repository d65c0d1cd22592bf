package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// logStream is one instance's stream and how far we have read it.
type logStream struct {
	name  string
	host  string // "algo-1"
	token *string
}

type logEvent struct {
	ts     int64
	seq    int // arrival order within its stream, for a stable sort
	host   string
	stream int
	msg    string
}

// Logs writes the job's CloudWatch Logs (group /aws/sagemaker/TrainingJobs,
// one stream "<name>/algo-N-<epoch>" per instance) to w. Each stream is read
// with GetLogEvents and its forward token, so no event is skipped or repeated;
// events of one poll are merged across instances by time and, when the job
// has more than one instance, prefixed with "[algo-N] ". With follow it polls
// until the job has ended, then drains the streams once more.
func (b *Backend) Logs(ctx context.Context, name string, follow bool, w io.Writer) error {
	d, err := b.describeRaw(ctx, name)
	for follow && err != nil && retryable(err) {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(b.opt.LogPollInterval):
		}
		d, err = b.describeRaw(ctx, name)
	}
	if err != nil {
		return err
	}
	multi := d.ResourceConfig != nil && aws.ToInt32(d.ResourceConfig.InstanceCount) > 1
	streams := map[string]*logStream{}
	ended := MapStatus(d.TrainingJobStatus, d.SecondaryStatus).Terminal()
	for {
		err := b.pollLogs(ctx, name, streams, &multi, w)
		switch {
		case ctx.Err() != nil && follow:
			return nil // the user stopped following
		case err != nil && (!follow || !retryable(err)):
			return err
		case err == nil && (!follow || ended):
			return nil
		}
		// While following, AWS trouble that outlasted the retries only
		// delays the next poll: the stream tokens keep our place.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(b.opt.LogPollInterval):
		}
		d, err := b.describeRaw(ctx, name)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			// Decided before the next poll, so that poll drains what the job
			// wrote up to its end.
			ended = MapStatus(d.TrainingJobStatus, d.SecondaryStatus).Terminal()
		case !retryable(err):
			return err
		}
	}
}

func (b *Backend) describeRaw(ctx context.Context, name string) (*sm.DescribeTrainingJobOutput, error) {
	var out *sm.DescribeTrainingJobOutput
	err := b.call(ctx, func(ctx context.Context) (err error) {
		out, err = b.sm.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		return err
	})
	if err != nil {
		if isNotFound(err) {
			return nil, errNotFound(name)
		}
		return nil, apiErr("describe SageMaker training job "+name, err)
	}
	return out, nil
}

// pollLogs finds the job's streams (new instances appear as they start) and
// writes every event not yet written.
func (b *Backend) pollLogs(ctx context.Context, name string, streams map[string]*logStream, multi *bool, w io.Writer) error {
	prefix := name + "/"
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(b.logs, &cloudwatchlogs.DescribeLogStreamsInput{
		LogGroupName: aws.String(LogGroup), LogStreamNamePrefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		var page *cloudwatchlogs.DescribeLogStreamsOutput
		err := b.call(ctx, func(ctx context.Context) (err error) {
			page, err = p.NextPage(ctx)
			return err
		})
		var nf *cwtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil // no log group yet: the job has not logged anything
		}
		if err != nil {
			return apiErr("list the log streams of "+name, err)
		}
		for _, s := range page.LogStreams {
			sn := aws.ToString(s.LogStreamName)
			if _, ok := streams[sn]; !ok {
				streams[sn] = &logStream{name: sn, host: hostOf(strings.TrimPrefix(sn, prefix))}
			}
		}
	}
	if len(streams) > 1 {
		*multi = true
	}
	names := make([]string, 0, len(streams))
	for n := range streams {
		names = append(names, n)
	}
	sort.Strings(names)

	var events []logEvent
	// Events already read have moved their stream's token on: write them
	// even when a later read fails, or they would be skipped for good.
	readErr := b.readStreams(ctx, names, streams, &events)
	sort.SliceStable(events, func(i, j int) bool {
		if events[i].ts != events[j].ts {
			return events[i].ts < events[j].ts
		}
		if events[i].stream != events[j].stream {
			return events[i].stream < events[j].stream
		}
		return events[i].seq < events[j].seq
	})
	for _, e := range events {
		line := strings.TrimRight(e.msg, "\n")
		if *multi {
			line = "[" + e.host + "] " + line
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return readErr
}

// readStreams reads every stream from its token to its end into events.
func (b *Backend) readStreams(ctx context.Context, names []string, streams map[string]*logStream, events *[]logEvent) error {
	for i, sn := range names {
		st := streams[sn]
		for {
			var out *cloudwatchlogs.GetLogEventsOutput
			err := b.call(ctx, func(ctx context.Context) (err error) {
				out, err = b.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
					LogGroupName: aws.String(LogGroup), LogStreamName: aws.String(sn),
					StartFromHead: aws.Bool(true), NextToken: st.token,
				})
				return err
			})
			if err != nil {
				return apiErr("read log stream "+sn, err)
			}
			for _, e := range out.Events {
				*events = append(*events, logEvent{ts: aws.ToInt64(e.Timestamp), seq: len(*events), host: st.host, stream: i, msg: aws.ToString(e.Message)})
			}
			same := st.token != nil && aws.ToString(out.NextForwardToken) == *st.token
			if out.NextForwardToken != nil {
				st.token = out.NextForwardToken
			}
			// The end of a stream is an empty page or the same token back.
			if len(out.Events) == 0 || same || out.NextForwardToken == nil {
				break
			}
		}
	}
	return nil
}

// hostOf turns "algo-1-1700000000" into "algo-1".
func hostOf(stream string) string {
	if i := strings.LastIndexByte(stream, '-'); i > 0 {
		return stream[:i]
	}
	return stream
}
