package cli

import (
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// pushProgress shows the bytes of an image push as a bar on stderr, when
// stderr is a terminal and the output is not JSON. It returns the channel
// to give the push (nil when there is no bar) and stop, to call once the
// push has returned (calling it again does nothing).
func pushProgress(cmd *cobra.Command) (updates chan<- v1.Update, stop func()) {
	out := cmd.ErrOrStderr()
	if jsonOutput() || !uploadIsTerminal(out) {
		return nil, func() {}
	}
	return newPushBar(out)
}

// newPushBar draws the bar from go-containerregistry's updates. remote.Write
// closes the channel when it returns; a push that failed before writing
// never does, so stop also ends the bar.
func newPushBar(out io.Writer) (chan<- v1.Update, func()) {
	ch := make(chan v1.Update, 64)
	quit := make(chan struct{})
	done := make(chan struct{})
	p := mpb.New(mpb.WithOutput(out), mpb.WithWidth(40), mpb.WithAutoRefresh())
	var bar *mpb.Bar
	show := func(u v1.Update) {
		if u.Error != nil || u.Total <= 0 {
			return
		}
		if bar == nil {
			bar = p.AddBar(u.Total,
				mpb.PrependDecorators(decor.Name("push ", decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace)),
				mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace),
					decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
		}
		bar.SetTotal(u.Total, false)
		bar.SetCurrent(u.Complete)
	}
	go func() {
		defer close(done)
		for {
			var u v1.Update
			ok := true
			select {
			case u, ok = <-ch:
			case <-quit:
				// The push has returned: take what is buffered, then stop.
				select {
				case u, ok = <-ch:
				default:
					return
				}
			}
			if !ok {
				return
			}
			show(u)
		}
	}()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			close(quit)
			<-done
			if bar != nil && !bar.Completed() {
				bar.Abort(false)
			}
			p.Wait()
		})
	}
}
