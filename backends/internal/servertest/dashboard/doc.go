// Package dashboard drives the dashboard of `alertstore serve` (package
// dashboard of the library) in a real headless Chromium with chromedp: the
// real alertstore binary serving a chain of Redis (in a container) then
// bolt, alerts posted over HTTP, and the page checked as a user sees it
// (table, counts, live arrival, filters, detail, the degraded banner while
// Redis is stopped), with a screenshot of every step; and the page against
// a small fake of the API for what the real server is not made to do on cue
// (ask for a token, show alerts written to attack the page).
//
// Without chromium or Docker the tests skip with one line saying how to run
// them; ALERTSTORE_REQUIRE_DOCKER=1 (CI) makes that a failure.
package dashboard
