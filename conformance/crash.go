package conformance

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// The crash check needs a process to die, which the suite's checks (run
// in-process, and by `alertstore selftest` against a server) cannot do:
// CrashTest re-executes the test binary as a child that writes through the
// backend, SIGKILLs it mid-stream, and checks in the parent that every
// alert the child acknowledged is there. It is what backs the durable
// capability; bolt, the chain and examples/dirstore run it.

// Environment of a child started by Reexec: the test it runs, its role,
// and its argument.
const (
	envChildTest = "ALERTSTORE_CONFORMANCE_CHILD_TEST"
	envChildRole = "ALERTSTORE_CONFORMANCE_CHILD_ROLE"
	envChildArg  = "ALERTSTORE_CONFORMANCE_CHILD_ARG"
)

// crashWriterRole is the role of CrashTest's writing child.
const crashWriterRole = "crash-writer"

// ChildRole reports whether this process is a child that Reexec started
// for the running test t, and if so its role and argument. A test with
// children checks it first, before anything the child must not do
// (starting servers), and plays the role, never returning: the parent
// kills it.
func ChildRole(t testing.TB) (role, arg string, ok bool) {
	if os.Getenv(envChildTest) != t.Name() {
		return "", "", false
	}
	return os.Getenv(envChildRole), os.Getenv(envChildArg), true
}

// Reexec runs the test binary's test t again, alone, as a child process
// in which ChildRole(t) reports role and arg (a directory, a DSN: what the
// child works on), and calls line for every line
// the child prints on stdout. The first time line returns true the child
// is killed (SIGKILL), and line goes on getting what the child printed
// before it died. A line starting with "ERR" fails t. Reexec fails t if
// the child ended on its own, or was not killed within timeout (default
// two minutes).
func Reexec(t *testing.T, role, arg string, timeout time.Duration, line func(string) (kill bool)) {
	t.Helper()
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1")
	cmd.Env = append(os.Environ(), envChildTest+"="+t.Name(), envChildRole+"="+role, envChildArg+"="+arg)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the child: %v", err)
	}
	var timedOut bool
	var mu sync.Mutex
	guard := time.AfterFunc(timeout, func() {
		mu.Lock()
		timedOut = true
		mu.Unlock()
		_ = cmd.Process.Kill()
	})
	defer guard.Stop()
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "ERR") {
			t.Errorf("child %s: %s", role, sc.Text())
		}
		if line(sc.Text()) && !killed {
			_ = cmd.Process.Kill() // SIGKILL where there are signals
			killed = true
		}
	}
	_ = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case timedOut && !killed:
		t.Fatalf("child %s was not killed within %s: the kill condition never held", role, timeout)
	case !killed:
		t.Fatalf("child %s ended before it was killed", role)
	}
}

// runPattern is the -test.run pattern that selects exactly the test named
// name (subtests included in the name, separated by '/').
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// CrashTest checks that a process killed while writing loses no alert it
// acknowledged: a child writes through the store from several goroutines
// and reports each alert once StoreBatch returned; it is SIGKILLed after
// KillAfter acknowledgements; the parent opens the store again and finds
// every acknowledged alert, once, with no torn entry (Count equals the
// alerts listed, none skipped).
type CrashTest struct {
	// Open opens the store under test on dir: in the child, which writes
	// through it until it is killed, and in the parent afterwards. Both
	// must reach the same data. The store's MaxAlerts must hold every
	// alert written (a few times KillAfter).
	Open func(ctx context.Context, dir string) (*backend.Store, error)
	// Dir is where the store lives; empty means t.TempDir().
	Dir string
	// KillAfter is how many acknowledged alerts the child reports before
	// it is killed. Default 1000.
	KillAfter int
	// Writers is how many goroutines write in the child; every fifth
	// write of each is a batch of three. Default 4.
	Writers int
	// AfterKill, if set, runs in the parent once the child is dead and
	// before Open: to look at what the kill left behind.
	AfterKill func(t *testing.T, dir string)
}

// CrashResult is what CrashTest.Run found.
type CrashResult struct {
	Dir string
	// Acknowledged are the ids of the alerts the child acknowledged.
	Acknowledged []string
	// Listed is how many alerts the reopened store lists; Lost how many
	// acknowledged ones are not among them.
	Listed, Lost int
	// Count is the reopened store's Count; Skipped and Duplicates are
	// List's.
	Count               int64
	Skipped, Duplicates int
}

func (r CrashResult) String() string {
	return fmt.Sprintf("acknowledged=%d present_after_kill=%d lost=%d count=%d skipped=%d duplicates=%d",
		len(r.Acknowledged), r.Listed, r.Lost, r.Count, r.Skipped, r.Duplicates)
}

// Run runs the check as part of the test t. Call it from the test (or
// subtest) it belongs to, before anything that must not run twice: the
// child is that same test, re-executed, in which Run writes and never
// returns. Run fails t on a lost, doubled or torn alert, and returns what
// it found. It skips with -short.
func (c CrashTest) Run(t *testing.T) CrashResult {
	t.Helper()
	res, err := c.run(t)
	if err != nil {
		t.Error(err)
	}
	return res
}

// run is Run returning the broken rule instead of failing t with it.
func (c CrashTest) run(t *testing.T) (CrashResult, error) {
	t.Helper()
	if role, dir, ok := ChildRole(t); ok && role == crashWriterRole {
		c.child(dir) // does not return
	}
	if testing.Short() {
		t.Skip("the crash check re-executes the test binary; skipped with -short")
	}
	if c.Open == nil {
		t.Fatal("CrashTest.Open is nil")
	}
	dir := c.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	killAfter := c.KillAfter
	if killAfter <= 0 {
		killAfter = 1000
	}
	var acked []string
	Reexec(t, crashWriterRole, dir, 0, func(line string) bool {
		if id, ok := strings.CutPrefix(line, "ACK "); ok {
			acked = append(acked, id)
		}
		// Lines already in the pipe after the kill are acknowledged
		// too: Reexec keeps reading them.
		return len(acked) >= killAfter
	})
	if c.AfterKill != nil {
		c.AfterKill(t, dir)
	}
	return c.check(dir, acked)
}

// check reopens the store on dir and compares it with what was acked.
func (c CrashTest) check(dir string, acked []string) (CrashResult, error) {
	res := CrashResult{Dir: dir, Acknowledged: acked}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := c.Open(ctx, dir)
	if err != nil {
		return res, fmt.Errorf("reopening after the kill: %w", err)
	}
	defer func() { _ = s.Close() }() // only counted after a kill; the count is the result
	present := map[string]bool{}
	q := backend.Query{Limit: backend.MaxLimit}
	for {
		p, err := s.List(ctx, q)
		if err != nil {
			return res, fmt.Errorf("listing after the kill: %w", err)
		}
		for _, a := range p.Alerts {
			present[a.ID()] = true
		}
		res.Listed += len(p.Alerts)
		res.Skipped += p.Skipped
		res.Duplicates += p.Duplicates
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	for _, id := range acked {
		if !present[id] {
			res.Lost++
		}
	}
	if res.Count, err = s.Count(ctx); err != nil {
		return res, fmt.Errorf("counting after the kill: %w", err)
	}
	if res.Lost > 0 {
		return res, fmt.Errorf("%d of %d acknowledged alerts are missing after SIGKILL (%s)", res.Lost, len(acked), res)
	}
	if res.Count != int64(res.Listed) || res.Skipped != 0 || res.Duplicates != 0 {
		return res, fmt.Errorf("a torn, doubled or half-committed write is visible after SIGKILL: %s", res)
	}
	return res, nil
}

// child writes until it is killed, printing "ACK id" for each alert after
// the store acknowledged it, or "ERR ..." and exiting on a failure.
func (c CrashTest) child(dir string) {
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	s, err := c.Open(ctx, dir)
	if err != nil {
		fail(err)
	}
	writers := c.Writers
	if writers <= 0 {
		writers = 4
	}
	var mu sync.Mutex
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				batch := []*backend.Alert{backend.NewAlert()}
				if i%5 == 4 {
					batch = append(batch, backend.NewAlert(), backend.NewAlert())
				}
				for _, a := range batch {
					_ = a.SetEntity(fmt.Sprintf("crash-w%d-%d", w, i))
				}
				if err := s.StoreBatch(ctx, batch); err != nil {
					fail(err)
				}
				mu.Lock()
				for _, a := range batch {
					fmt.Println("ACK", a.ID())
				}
				mu.Unlock()
			}
		}(w)
	}
	select {} // until killed
}
