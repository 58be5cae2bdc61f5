package redistest

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
	"github.com/apt-detection/alertstore/conformance/containers"
)

// serverPassword is the requirepass of the fault tests' server.
const serverPassword = "fault-P@ss:w/rd"

// RunFaultTests runs the failure behaviours on a server of spec's own,
// since they stop and pause it: a stopped server and a frozen one give
// ErrUnavailable within the deadline and the store recovers, and a write
// whose reply is lost is not resent by the client. The server requires a
// password, so the same run checks authentication: the DSN forms and
// wrong or missing credentials (the ACL roles have RunACLTests).
func RunFaultTests(t *testing.T, scheme string, spec containers.ServerSpec) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := containers.StartServer(ctx, t, spec, containers.WithPassword(serverPassword))
	e := env{scheme: scheme, srv: srv}
	tests := []struct {
		name string
		fn   func(*testing.T, env)
	}{
		{"PasswordForms", testPasswordForms},
		{"WrongCredentialsFail", testWrongCredentials},
		{"LostExecReplyIsNotResent", testLostReply},
		{"LostReplyFailsItsTransactionOnly", testLostReplyFailsItsTransaction},
		{"FullServerIsUnavailable", testOOM},
		{"PausedServerTimesOut", testPaused},
		{"StoppedServerRecovers", testStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, e) })
	}
}

// RunOfflineTests needs no server: opening does no I/O, and calls on an
// address where nothing listens fail fast with ErrUnavailable.
func RunOfflineTests(t *testing.T, scheme string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := backend.Config{Prefix: Prefix(t), Timeout: 2 * time.Second}
	s := Open(t, DSN(scheme, addr, cfg, "dial_timeout=500ms"))
	ctx := testCtx(t)
	calls := map[string]func() error{
		"ping":  func() error { return s.Ping(ctx) },
		"count": func() error { _, err := s.Count(ctx); return err },
		"list":  func() error { _, err := s.List(ctx, backend.Query{}); return err },
		"store": func() error { return s.Store(ctx, newAlert(t, "nowhere")) },
		"clear": func() error { return s.Clear(ctx) },
		"watch": func() error {
			w, err := s.Watch(ctx)
			if err == nil {
				w.Close()
			}
			return err
		},
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s with no server: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > cfg.Timeout+time.Second {
			t.Errorf("%s with no server took %v, want at most the timeout %v", name, d, cfg.Timeout)
		}
	}
}

// testLostReply puts a proxy between the store and the server that lets a
// MULTI/EXEC through and drops the connection before its reply. The
// server applied it; the store must report the write as failed
// (ErrUnavailable) and must not have sent it again: the alert is stored
// exactly once. A retry of the same *Alert by the caller is then listed
// once, since it carries the same id.
func testLostReply(t *testing.T, e env) {
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t), Timeout: 3 * time.Second}
	k := redislist.NewKeys(cfg.Prefix)
	proxy := NewProxy(t, e.srv.Addr())
	s := Open(t, e.dsn(proxy.Addr(), cfg, ""))
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	a := newAlert(t, "ambiguous")
	proxy.LoseNextExecReply()
	err := s.Store(ctx, a)
	select {
	case <-proxy.Swallowed():
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy never saw an EXEC")
	}
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Store with its reply lost: %v, want ErrUnavailable", err)
	}
	// Give a client that would resend time to do it.
	time.Sleep(500 * time.Millisecond)
	if n := e.do(t, "LLEN", k.List); n != int64(1) {
		t.Fatalf("LLEN = %v after one lost reply, want 1: the client resent the write", n)
	}
	if a.ID() == "" {
		t.Fatal("the alert got no id before the write")
	}

	// The caller retries the same alert, through the same store.
	if err := s.Store(ctx, a); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := e.do(t, "LLEN", k.List); n != int64(2) {
		t.Errorf("LLEN = %v after the retry, want 2 (stored twice, listed once)", n)
	}
	p := list(t, s, backend.Query{})
	wantIDs(t, p, a.ID())
	if p.Duplicates != 1 {
		t.Errorf("Duplicates = %d, want 1", p.Duplicates)
	}

	// A batch whose reply is lost is not resent either.
	batch := []*backend.Alert{newAlert(t, "b1"), newAlert(t, "b2"), newAlert(t, "b3")}
	proxy.LoseNextExecReply()
	if err := s.StoreBatch(ctx, batch); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("StoreBatch with its reply lost: %v, want ErrUnavailable", err)
	}
	<-proxy.Swallowed()
	time.Sleep(500 * time.Millisecond)
	if n := e.do(t, "LLEN", k.List); n != int64(5) {
		t.Errorf("LLEN = %v after a lost batch of 3, want 5", n)
	}
}

// testPaused freezes the server (docker pause): connections stay open and
// nothing answers. Every call must fail with ErrUnavailable once the
// timeout passes, not hang; after unpausing the store works again.
func testPaused(t *testing.T, e env) {
	ctx := testCtx(t)
	const timeout = 700 * time.Millisecond
	cfg := backend.Config{Prefix: Prefix(t), Timeout: timeout}
	s := e.open(t, cfg)
	store(t, s, 2, "before")
	w, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	if err := e.srv.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	unpaused := false
	unpause := func() {
		if !unpaused {
			unpaused = true
			if err := e.srv.Unpause(context.Background()); err != nil {
				t.Errorf("unpause: %v", err)
			}
		}
	}
	defer unpause()
	calls := []struct {
		name string
		call func() error
	}{
		{"store", func() error { return s.Store(ctx, newAlert(t, "frozen")) }},
		{"list", func() error { _, err := s.List(ctx, backend.Query{}); return err }},
		{"count", func() error { _, err := s.Count(ctx); return err }},
		{"ping", func() error { return s.Ping(ctx) }},
		{"clear", func() error { return s.Clear(ctx) }},
		{"watch", func() error {
			w, err := s.Watch(ctx)
			if err == nil {
				w.Close()
			}
			return err
		}},
		{"watch next", func() error { _, err := w.Next(ctx); return err }},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		d := time.Since(start)
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s on a paused server: %v, want ErrUnavailable", c.name, err)
		}
		// The slack covers the driver's one read retry and scheduling on
		// a loaded CI machine; a hang would be the test's whole minute.
		if d > timeout+1500*time.Millisecond {
			t.Errorf("%s on a paused server returned after %v, want about the timeout %v", c.name, d, timeout)
		}
	}
	unpause()
	eventually(t, 10*time.Second, func() error { return s.Ping(ctx) })
	x := store(t, s, 1, "after")
	got := list(t, s, backend.Query{Limit: 1})
	wantIDs(t, got, x[0].ID())
}

// testStopped stops the server (a restart, an outage): calls fail with
// ErrUnavailable; once it is back the same store works again, with no
// reopen. Without persistence the server comes back empty.
func testStopped(t *testing.T, e env) {
	ctx := testCtx(t)
	cfg := backend.Config{Prefix: Prefix(t), Timeout: 2 * time.Second}
	s := e.open(t, cfg)
	store(t, s, 2, "before")
	w, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	if err := e.srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	started := false
	defer func() {
		if !started {
			if err := e.srv.Start(context.Background()); err != nil {
				t.Errorf("start: %v", err)
			}
		}
	}()
	for name, call := range map[string]func() error{
		"store": func() error { return s.Store(ctx, newAlert(t, "down")) },
		"list":  func() error { _, err := s.List(ctx, backend.Query{}); return err },
		"count": func() error { _, err := s.Count(ctx); return err },
		"ping":  func() error { return s.Ping(ctx) },
	} {
		start := time.Now()
		if err := call(); !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s on a stopped server: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > cfg.Timeout+time.Second {
			t.Errorf("%s on a stopped server took %v", name, d)
		}
	}
	if err := e.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started = true
	eventually(t, 15*time.Second, func() error { return s.Ping(ctx) })
	var x []*backend.Alert
	eventually(t, 15*time.Second, func() error {
		a := newAlert(t, "after")
		if err := s.Store(ctx, a); err != nil {
			return err
		}
		x = append(x, a)
		return nil
	})
	wantIDs(t, list(t, s, backend.Query{}), newestFirst(x)...)

	// The watch opened before the outage delivers what was stored after
	// it (a lag report first is allowed: the server came back empty).
	deadline := time.Now().Add(20 * time.Second)
	for _, want := range x {
		for {
			if time.Now().After(deadline) {
				t.Fatalf("the watch did not deliver %s after the restart", want.Entity())
			}
			nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			got, err := w.Next(nctx)
			cancel()
			if errors.Is(err, backend.ErrLagged) || errors.Is(err, backend.ErrUnavailable) {
				continue
			}
			if err != nil {
				t.Fatalf("watch after the restart: %v", err)
			}
			if got.ID() != want.ID() {
				t.Errorf("watch after the restart got %s, want %s", got.Entity(), want.Entity())
			}
			break
		}
	}
}

// testOOM fills the server (maxmemory 1 byte, noeviction): writes are
// refused with OOM, which is a "not now" (ErrUnavailable, so a chain falls
// back) reported at once, and nothing is stored; reads still work.
func testOOM(t *testing.T, e env) {
	cfg := backend.Config{Prefix: Prefix(t)}
	s := e.open(t, cfg)
	store(t, s, 1, "before")
	e.do(t, "CONFIG", "SET", "maxmemory", "1")
	defer e.do(t, "CONFIG", "SET", "maxmemory", "0")
	ctx := testCtx(t)
	start := time.Now()
	err := s.Store(ctx, newAlert(t, "refused"))
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("Store on a full server: %v, want ErrUnavailable with the OOM reply", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the refusal took %v: it must come with the reply, not a timeout", d)
	}
	if n := count(t, s); n != 1 {
		t.Errorf("Count = %d on the full server, want 1", n)
	}
}

// eventually retries fn until it succeeds or d passes.
func eventually(t *testing.T, d time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered after %v: %v", d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
