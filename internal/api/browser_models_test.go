package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserDeploy drives the job page of a completed job with an export in
// headless Chromium: the age-group table, the export's row, its deploy
// button (a CSRF-checked form), then the undeploy button it turns into.
func browserDeploy(t *testing.T, h *harness, jobID, modelID string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromiumPath(t)), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(chromiumProfile(t)))
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
			t.Fatalf("%s: %v\npage:\n%.3000s", what, err, html)
		}
	}
	run("log in", chromedp.Navigate(h.ts.URL+"/login"), chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.SendKeys("#token", testToken, chromedp.ByID), chromedp.Click("#login", chromedp.ByID), chromedp.WaitVisible("#jobs", chromedp.ByID))
	var groups, exports string
	run("open the job", chromedp.Navigate(h.ts.URL+"/jobs/"+jobID), chromedp.WaitVisible("#groups", chromedp.ByID),
		chromedp.Text("#groups", &groups, chromedp.ByID), chromedp.Text("#exports", &exports, chromedp.ByID))
	for _, want := range []string{"AUROC", "Threshold", "FPR", "Recall", "F1", "Source", "conformal-"} {
		if !strings.Contains(groups, want) {
			t.Errorf("age-group table lacks %q:\n%s", want, groups)
		}
	}
	if !strings.Contains(exports, modelID) || !strings.Contains(exports, "not deployed") {
		t.Fatalf("exports table:\n%s", exports)
	}
	sel := `form[action$="/models/` + modelID + `/deploy"] .deploy-button`
	run("deploy with the button", chromedp.Click(sel, chromedp.ByQuery), chromedp.WaitVisible(".undeploy-button", chromedp.ByQuery),
		chromedp.Text("#exports", &exports, chromedp.ByID))
	if !strings.Contains(exports, "active for ages") {
		t.Fatalf("after deploy the exports table says:\n%s", exports)
	}
	run("undeploy with the button", chromedp.Click(".undeploy-button", chromedp.ByQuery),
		chromedp.WaitNotPresent(".undeploy-button", chromedp.ByQuery))
}
