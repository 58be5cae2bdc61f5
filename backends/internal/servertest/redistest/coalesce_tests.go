package redistest

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// commandCalls is the calls count of cmd in INFO commandstats.
func (e env) commandCalls(t *testing.T, cmd string) int64 {
	t.Helper()
	info := fmt.Sprint(e.do(t, "INFO", "commandstats"))
	m := regexp.MustCompile(`(?m)^cmdstat_` + cmd + `:calls=(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// storeConcurrently stores perCaller alerts one per call from each of
// callers goroutines, started together, and returns every alert with its
// call's error.
func storeConcurrently(t *testing.T, s *backend.Store, callers, perCaller int) ([]*backend.Alert, []error) {
	t.Helper()
	ctx := testCtx(t)
	alerts := make([]*backend.Alert, callers*perCaller)
	errs := make([]error, len(alerts))
	for i := range alerts {
		alerts[i] = newAlert(t, fmt.Sprintf("coalesce-%d", i))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range perCaller {
				i := c*perCaller + j
				errs[i] = s.Store(ctx, alerts[i])
			}
		}()
	}
	close(start)
	wg.Wait()
	return alerts, errs
}

// testCoalesced: concurrent one-alert stores on one store share append
// transactions (redislist's write coalescing). The server is paused for
// writes (CLIENT PAUSE WRITE) while the calls start, so the first
// transaction waits there and the others queue behind it, whatever the
// load of the machine; the server then runs far fewer INCRBYs (one per
// transaction) than there were calls. Every call is acknowledged and
// every alert is stored exactly once. The shared server's tests run one
// at a time, so the commandstats delta is this test's.
func testCoalesced(t *testing.T, e env) {
	const callers = 64
	s := e.open(t, backend.Config{Prefix: Prefix(t)})
	warm := store(t, s, 1, "warm") // records the cap: an append is then one EXEC
	before := e.commandCalls(t, "incrby")
	e.do(t, "CLIENT", "PAUSE", "1000", "WRITE")
	alerts, errs := storeConcurrently(t, s, callers, 1)
	txns := e.commandCalls(t, "incrby") - before
	alerts = append(alerts, warm...)
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	n := int64(len(alerts))
	t.Logf("FIGURES: %d concurrent one-alert stores in %d append transactions", callers, txns)
	// Without coalescing txns == callers; with it 2 (the first, then the
	// rest), more only if a loaded machine started some calls after the
	// pause ended.
	if txns > callers/8 {
		t.Errorf("%d append transactions for %d concurrent stores, want at most %d: concurrent stores are not coalesced", txns, callers, callers/8)
	}
	p := list(t, s, backend.Query{Limit: int(n) + 1})
	if len(p.Alerts) != int(n) || p.Duplicates != 0 {
		t.Fatalf("listed %d alerts (%d duplicates), want %d once each", len(p.Alerts), p.Duplicates, n)
	}
	want := make([]string, len(alerts))
	for i, a := range alerts {
		want[i] = a.ID()
	}
	var got []string
	for _, a := range p.Alerts {
		got = append(got, a.ID())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Error("the listed ids are not the stored ones")
	}
	info, err := s.NamespaceInfo(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Appended != n {
		t.Errorf("the counter moved by %d, want %d", info.Appended, n)
	}
}

// testLostReplyFailsItsTransaction: concurrent stores are coalesced, and
// the reply of one transaction is lost (the server applied it, the client
// saw the connection drop). Exactly the calls of that transaction fail,
// with ErrUnavailable: their alerts are the failed ones and sit together
// in the list (one RPUSH); every other call is acknowledged, nothing is
// sent twice.
func testLostReplyFailsItsTransaction(t *testing.T, e env) {
	const callers = 32
	cfg := backend.Config{Prefix: Prefix(t), Timeout: 5 * time.Second}
	k := redislist.NewKeys(cfg.Prefix)
	proxy := NewProxy(t, e.srv.Addr())
	s := Open(t, e.dsn(proxy.Addr(), cfg, ""))
	store(t, s, 1, "warm") // records the cap: the next append is one EXEC
	// Hold the first transaction at the server (CLIENT PAUSE WRITE) so
	// that the other calls queue behind it, then lose the reply of the
	// next one, which holds them. On a machine too loaded to pass the
	// first EXEC within the sleep, the first is lost instead: the checks
	// below hold either way.
	e.do(t, "CLIENT", "PAUSE", "600", "WRITE")
	var alerts []*backend.Alert
	var errs []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		alerts, errs = storeConcurrently(t, s, callers, 1)
	}()
	time.Sleep(200 * time.Millisecond)
	proxy.LoseNextExecReply()
	<-done
	select {
	case <-proxy.Swallowed():
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy never saw an EXEC")
	}
	failed := map[string]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, backend.ErrUnavailable):
			failed[alerts[i].ID()] = true
		default:
			t.Errorf("store %d: %v, want nil or ErrUnavailable", i, err)
		}
	}
	if len(failed) == 0 {
		t.Fatal("no store failed, yet a reply was lost")
	}
	if n := e.do(t, "LLEN", k.List); n != int64(callers+1) {
		t.Fatalf("LLEN = %v, want %d: every alert stored once (the lost transaction was applied, nothing resent)", n, callers)
	}
	// Oldest first: the failed alerts must be one run, the lost RPUSH.
	p := list(t, s, backend.Query{Limit: callers + 1})
	var run []bool
	for i := len(p.Alerts) - 1; i >= 0; i-- {
		run = append(run, failed[p.Alerts[i].ID()])
	}
	first, last := slices.Index(run, true), -1
	for i, f := range run {
		if f {
			last = i
		}
	}
	for i := first; i <= last; i++ {
		if !run[i] {
			t.Errorf("failed stores at list positions %v: not one transaction (an acknowledged alert at %d between them)", run, i)
			break
		}
	}
	t.Logf("FIGURES: the lost transaction held %d of %d concurrent stores; the other %d were acknowledged", len(failed), callers, callers-len(failed))
}
