package api

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sagetrain/sagetrain/internal/store"
)

// chromiumPath finds Debian's chromium; the test fails (not skips) without
// it, because scripts/test.sh installs it.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("SAGETRAIN_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("chromium not found (looked at $SAGETRAIN_CHROMIUM, /usr/bin/chromium and PATH): install Debian's chromium package, as scripts/test.sh does")
	return ""
}

// chromiumProfile makes a profile folder and removes it after the test.
// Not t.TempDir: Chromium's helper processes can still be writing to it
// for a moment after the browser is killed, which made TempDir's cleanup
// fail the test ("directory not empty"); here removal is retried.
func chromiumProfile(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sagetrain-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if i == 50 {
				t.Logf("chromium profile %s not removed: %v", dir, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

// TestDashboardInChromium drives the dashboard in headless Chromium the
// way a person would: log in, read the job list, filter it, open a
// completed job (history, loss curves, metrics, log), watch a live job
// refresh itself, and cancel it.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	bin := chromiumPath(t)
	h := newHarness(t, nil)
	done := h.completedJob("drawings-2026-11")
	var failed, live JobView
	h.json("POST", Prefix+"/jobs", `{"job_name":"broken-run","environment":"sagemaker"}`, 201, &failed)
	h.finish(failed.ID, store.StatusFailed, func(j *store.Job) { j.FailureReason = "AlgorithmError: out of memory" })
	h.json("POST", Prefix+"/jobs", `{"job_name":"live-run"}`, 201, &live)

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(chromiumProfile(t)),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	run := func(what string, acts ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, acts...); err != nil {
			var html string
			_ = chromedp.Run(ctx, chromedp.OuterHTML("html", &html))
			t.Fatalf("%s: %v\npage:\n%s", what, err, html)
		}
	}

	// loaded waits until a new page has fully loaded and cond holds on it
	// (polling survives the page being replaced under it).
	loaded := func(cond string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			deadline := time.Now().Add(20 * time.Second)
			for {
				var ok bool
				err := chromedp.Evaluate("document.readyState === 'complete' && !!("+cond+")", &ok).Do(ctx)
				if err == nil && ok {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("waited 20s for %s (last error %w)", cond, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}

	// 1. Log in through the form.
	var loginURL string
	run("open the dashboard", chromedp.Navigate(h.ts.URL+"/"), chromedp.WaitVisible("#token", chromedp.ByID), chromedp.Location(&loginURL))
	if !strings.Contains(loginURL, "/login") {
		t.Fatalf("not sent to the login page: %s", loginURL)
	}
	run("log in", chromedp.SendKeys("#token", testToken, chromedp.ByID), chromedp.Click("#login", chromedp.ByID),
		chromedp.WaitVisible("#jobs", chromedp.ByID))

	// 2. The job list.
	var listText string
	run("read the list", chromedp.Text("#jobs", &listText, chromedp.ByID))
	for _, want := range []string{"drawings-2026-11", "completed", "broken-run", "failed", "live-run", "pending", "sagemaker"} {
		if !strings.Contains(listText, want) {
			t.Errorf("job list lacks %q:\n%s", want, listText)
		}
	}
	// 3. Filter by status.
	run("filter failed", chromedp.SetValue("#filter-status", "failed", chromedp.ByID), chromedp.Click("#apply-filters", chromedp.ByID))
	run("wait for the filtered page", loaded("location.search.includes('status=failed')"),
		chromedp.Text("#jobs", &listText, chromedp.ByID))
	if !strings.Contains(listText, "broken-run") || strings.Contains(listText, "drawings-2026-11") {
		t.Errorf("filtered list:\n%s", listText)
	}

	// 4. A completed job: history, loss curves (loaded images), metrics, log.
	var events, metrics, logs string
	var plotsLoaded int
	run("open the completed job", chromedp.Navigate(h.ts.URL+"/jobs/"+done), chromedp.WaitVisible("#plots", chromedp.ByID),
		chromedp.Text("#events", &events, chromedp.ByID), chromedp.Text("#metrics", &metrics, chromedp.ByID),
		chromedp.Text("#logs", &logs, chromedp.ByID),
		chromedp.Poll(`(() => { const i = [...document.querySelectorAll('#plots img')]; return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0) ? i.length : 0; })()`, &plotsLoaded, chromedp.WithPollingTimeout(10*time.Second)))
	if plotsLoaded != 2 {
		t.Errorf("%d loss-curve images loaded, want 2", plotsLoaded)
	}
	for _, want := range []string{"pending", "running", "completed"} {
		if !strings.Contains(events, want) {
			t.Errorf("status history lacks %q:\n%s", want, events)
		}
	}
	if !strings.Contains(metrics, "roc_auc") || !strings.Contains(metrics, "0.91") {
		t.Errorf("metrics:\n%s", metrics)
	}
	if !strings.Contains(logs, "epoch 2 loss=0.25") {
		t.Errorf("log:\n%s", logs)
	}
	var cancelButtons int
	run("no cancel on ended jobs", chromedp.Evaluate(`document.querySelectorAll('#cancel').length`, &cancelButtons))
	if cancelButtons != 0 {
		t.Error("completed job offers a cancel button")
	}

	// 5. A failed job shows its reason.
	var reason string
	run("open the failed job", chromedp.Navigate(h.ts.URL+"/jobs/"+failed.ID), chromedp.Text("#failure-reason", &reason, chromedp.ByID))
	if !strings.Contains(reason, "out of memory") {
		t.Errorf("failure reason = %q", reason)
	}

	// 6. A live job refreshes itself: the reconciler moves it to running
	//    and the open page shows it without anyone reloading.
	run("open the live job", chromedp.Navigate(h.ts.URL+"/jobs/"+live.ID), chromedp.WaitVisible("#cancel", chromedp.ByID))
	j, err := h.st.Get(context.Background(), live.ID)
	if err != nil {
		t.Fatal(err)
	}
	j.Status, j.SecondaryStatus = store.StatusRunning, "Training"
	if err := h.st.Update(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	var summary string
	run("see it running without a reload", loaded("(document.querySelector('.summary')||{}).textContent.includes('Training')"),
		chromedp.Text(".summary", &summary, chromedp.ByQuery))
	if !strings.Contains(summary, "running") {
		t.Errorf("after refresh the page says %q", summary)
	}

	// 7. Cancel it with the button. The page may be refreshing itself at
	//    that moment; a person would click again, and so do we.
	var cerr error
	for attempt := 0; attempt < 3; attempt++ {
		if cerr = chromedp.Run(ctx, chromedp.Click("#cancel", chromedp.ByID)); cerr != nil {
			continue
		}
		if cerr = chromedp.Run(ctx, loaded("!!document.querySelector('#cancel-requested')")); cerr == nil {
			break
		}
	}
	if cerr != nil {
		t.Fatalf("cancel: %v", cerr)
	}
	j, err = h.st.Get(context.Background(), live.ID)
	if err != nil || !j.CancelRequested {
		t.Fatalf("the cancel button did not reach the job: %v %+v", err, j)
	}
}
