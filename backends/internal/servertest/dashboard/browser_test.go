package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/apt-detection/alertstore/conformance/containers"
)

// chromiumNames are the executables tried, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// chromium returns the browser's path, or skips the test with one line
// saying how to get it; under ALERTSTORE_REQUIRE_DOCKER=1 (CI) it fails
// instead, as a missing container image does. -short skips the browser
// tests, as it does the container tests.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("dashboard: needs a browser; not run under -short")
	}
	if p := os.Getenv("ALERTSTORE_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: install it (apt-get install -y chromium) or set ALERTSTORE_CHROMIUM to a Chromium or Chrome executable to run the browser test"
	if containers.RequireDocker() {
		t.Fatal(msg + " (ALERTSTORE_REQUIRE_DOCKER=1 makes this a failure)")
	}
	t.Skip(msg + "; set ALERTSTORE_REQUIRE_DOCKER=1 to fail instead of skipping")
	return ""
}

// browser is one headless Chromium with one tab, which records every
// script exception, console error and policy violation of the page (each
// fails the test at its end) and keeps a screenshot of each step.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	step int

	mu       sync.Mutex
	problems []string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in a container has no user namespace for the sandbox
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	b := &browser{t: t, ctx: ctx, dir: t.ArtifactDir()}
	// The first call starts the browser, on the tab's own context: a
	// deadline there would end the browser with it.
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.record(m)
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("in the page: %s", p)
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	t.Logf("screenshots in %s (kept with go test -artifacts -outputdir DIR)", b.dir)
	return b
}

// record keeps the console messages that mean the page is broken: an
// uncaught exception, console.error, and a browser log error other than a
// network one (a 401 the page answers with its token form is the page's
// business; a script or style refused by the CSP is not).
func (b *browser) record(m chromedp.ConsoleMessage) {
	switch {
	case m.Type == chromedp.ConsoleException,
		m.Type == chromedp.ConsoleError && m.Source != "network":
		b.mu.Lock()
		b.problems = append(b.problems, m.String())
		b.mu.Unlock()
	}
}

// take returns the problems recorded so far and forgets them.
func (b *browser) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// run runs actions with a deadline; on failure it keeps a screenshot and
// fails the test.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + what)
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// waitJS polls a JavaScript expression until it is true, failing the test
// (with a screenshot and the value of show) after within.
func (b *browser) waitJS(what string, within time.Duration, cond, show string) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := eval[bool](b, "Boolean("+cond+")")
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			got, _ := eval[any](b, show)
			b.shot("failed-" + what)
			b.t.Fatalf("waited %s for %s: %s is %v (err %v)", within, what, show, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsString evaluates an expression to a string.
func (b *browser) jsString(expr string) string {
	b.t.Helper()
	s, err := eval[string](b, expr)
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// shot keeps a full-page screenshot of the current step as a PNG.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.step++
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.step, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// rows returns the ids of the table's rows, top to bottom.
func (b *browser) rows() []string {
	b.t.Helper()
	ids, err := eval[[]string](b, `[...document.querySelectorAll('#alerts tbody tr')].map(r => r.dataset.id)`)
	if err != nil {
		b.t.Fatal(err)
	}
	return ids
}

// key sends key presses to the page.
func key(k string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(k) }
