package redislist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// fakeClient is the layout in Go, for the driver's own logic without a
// server: the real-server tests (redistest) check the scripts themselves.
type fakeClient struct {
	mu     sync.Mutex
	list   [][]byte
	seq    int64
	subs   map[int]func()
	nextID int
	down   bool

	// What ROLE and WAIT answer when an append asks for them.
	role    string
	acked   int64
	waitErr error

	// The namespace's record (namespace.go), as the scripts keep it.
	cap, base int64
	audit     []string
}

func newFake() *fakeClient { return &fakeClient{subs: map[int]func(){}, role: "master"} }

func (f *fakeClient) Append(ctx context.Context, k Keys, payloads [][]byte, max int, o AppendOptions) (AppendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return AppendResult{}, backend.ErrUnavailable
	}
	f.list = append(f.list, payloads...)
	pushed := int64(len(f.list))
	f.seq += int64(len(payloads))
	if len(f.list) > max {
		f.list = f.list[len(f.list)-max:]
	}
	for _, n := range f.subs {
		n()
	}
	r := AppendResult{Pushed: pushed, Seq: f.seq, Acked: -1, Cap: f.cap}
	if o.Role {
		r.Role = f.role
	}
	if o.MinReplicas > 0 && r.Role == "master" {
		r.Acked, r.WaitErr = f.acked, f.waitErr
	}
	return r, nil
}

// foreignPush is an RPUSH by another tool: no counter, no message.
func (f *fakeClient) foreignPush(data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, []byte(data))
}

// flush is FLUSHDB.
func (f *fakeClient) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list, f.seq = nil, 0
}

func (f *fakeClient) Window(ctx context.Context, k Keys, args []string) (Window, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return Window{}, backend.ErrUnavailable
	}
	pos, _ := strconv.ParseInt(args[1], 10, 64)
	limit, _ := strconv.Atoi(args[2])
	n := int64(len(f.list))
	seq := max(f.seq, n)
	base := seq - n + 1
	w := Window{Seq: seq, Len: n}
	var start, stop int64 // stop exclusive
	if args[0] == ModeBefore {
		e := n
		if pos > 0 && pos-base < e {
			e = pos - base
		}
		if e <= 0 || limit <= 0 {
			return w, nil
		}
		start, stop = max(e-int64(limit), 0), e
	} else {
		start = max(pos+1-base, 0)
		w.Start = start
		if start >= n || limit <= 0 {
			return w, nil
		}
		stop = min(start+int64(limit), n)
	}
	w.Start = start
	maxBytes, _ := strconv.Atoi(args[3])
	for j, d := range f.list[start:stop] {
		if maxBytes > 0 && len(d) > maxBytes {
			if w.TooLarge == nil {
				w.TooLarge = make([]int64, stop-start)
			}
			w.TooLarge[j] = int64(len(d))
			w.Items = append(w.Items, nil)
			continue
		}
		w.Items = append(w.Items, append([]byte(nil), d...))
	}
	return w, nil
}

func (f *fakeClient) Repair(ctx context.Context, k Keys, seq, pushed int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seq == seq && f.seq < pushed {
		f.seq = pushed
	}
	return nil
}

func (f *fakeClient) LLen(ctx context.Context, key string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.list)), nil
}

func (f *fakeClient) Del(ctx context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = nil
	return nil
}

func (f *fakeClient) Ping(ctx context.Context) error { return nil }

// EvalRO is Eval: the fake has no ACL.
func (f *fakeClient) EvalRO(ctx context.Context, script string, keys, args []string) ([]string, error) {
	return f.Eval(ctx, script, keys, args)
}

// Eval runs the namespace scripts in Go.
func (f *fakeClient) Eval(ctx context.Context, script string, keys, args []string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, backend.ErrUnavailable
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	n := int64(len(f.list))
	switch script {
	case CapInitScript:
		if f.cap == 0 {
			f.cap, _ = strconv.ParseInt(args[0], 10, 64)
		}
		return []string{itoa(f.cap)}, nil
	case ClearScript:
		f.seq = max(f.seq, n)
		f.list, f.base = nil, f.seq
		f.audit = append(f.audit, args[0]+`,"entries":`+itoa(n)+"}")
		return []string{itoa(n)}, nil
	case SetCapScript:
		old := f.cap
		f.cap, _ = strconv.ParseInt(args[0], 10, 64)
		f.audit = append(f.audit, args[1]+`,"old_cap":`+itoa(old)+`,"entries":`+itoa(n)+"}")
		return []string{itoa(old)}, nil
	case InfoScript:
		out := []string{itoa(n), itoa(max(f.seq, n)), "", ""}
		if f.cap > 0 {
			out[2] = itoa(f.cap)
		}
		if f.base > 0 {
			out[3] = itoa(f.base)
		}
		for i := len(f.audit) - 1; i >= 0; i-- {
			out = append(out, f.audit[i])
		}
		return out, nil
	}
	return nil, fmt.Errorf("fake: unknown script")
}

// ltrim is an old tool's own LTRIM key -n -1.
func (f *fakeClient) ltrim(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.list) > n {
		f.list = f.list[len(f.list)-n:]
	}
}

func (f *fakeClient) Subscribe(ctx context.Context, channel string, notify func()) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextID
	f.nextID++
	f.subs[id] = notify
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, id)
	}, nil
}

func (f *fakeClient) Close() error { return nil }

func payloads(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"n":%d}`, from+i))
	}
	return out
}

func scanAll(t *testing.T, d *Driver) (pos []int64, data []string) {
	t.Helper()
	before := int64(0)
	for {
		es, err := d.Scan(context.Background(), before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			pos = append(pos, e.Pos)
			data = append(data, string(e.Data))
			before = e.Pos
		}
		if len(es) < 2 {
			return pos, data
		}
	}
}

func TestPositions(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	d := New(f, backend.Config{MaxAlerts: 5}, nil)
	if err := d.Append(ctx, payloads(1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := d.Append(ctx, payloads(4, 4)); err != nil { // 7 appended, 5 kept
		t.Fatal(err)
	}
	pos, data := scanAll(t, d)
	if fmt.Sprint(pos) != "[7 6 5 4 3]" || data[0] != `{"n":7}` || data[4] != `{"n":3}` {
		t.Errorf("positions %v, data %v", pos, data)
	}
	if err := d.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Append(ctx, payloads(8, 1)); err != nil {
		t.Fatal(err)
	}
	if pos, _ := scanAll(t, d); fmt.Sprint(pos) != "[8]" {
		t.Errorf("after Clear, positions %v, want [8]: they never go backwards", pos)
	}
}

// TestLegacyListUpgrade: a list filled without the counter, then appended
// to through the driver, keeps the positions readers were given.
func TestLegacyListUpgrade(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	for i := 1; i <= 4; i++ {
		f.foreignPush(fmt.Sprintf("legacy%d", i))
	}
	d := New(f, backend.Config{MaxAlerts: 5}, nil)
	pos, _ := scanAll(t, d)
	if fmt.Sprint(pos) != "[4 3 2 1]" {
		t.Fatalf("legacy positions %v", pos)
	}
	if err := d.Append(ctx, payloads(1, 2)); err != nil { // 6 entries, trimmed to 5
		t.Fatal(err)
	}
	if f.seq != 6 {
		t.Errorf("counter = %d after the first append, want 6", f.seq)
	}
	pos, data := scanAll(t, d)
	if fmt.Sprint(pos) != "[6 5 4 3 2]" || data[2] != "legacy4" || data[4] != "legacy2" {
		t.Errorf("after the upgrade: positions %v, data %v; legacy entries must keep theirs", pos, data)
	}
}

func next(t *testing.T, s backend.Subscription) (backend.Entry, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.Next(ctx)
}

func wantNext(t *testing.T, s backend.Subscription, pos int64, data string) {
	t.Helper()
	e, err := next(t, s)
	if err != nil || e.Pos != pos || string(e.Data) != data {
		t.Fatalf("Next = %d %s, %v; want %d %s", e.Pos, e.Data, err, pos, data)
	}
}

func wantLagged(t *testing.T, s backend.Subscription) {
	t.Helper()
	if _, err := next(t, s); !errors.Is(err, backend.ErrLagged) {
		t.Fatalf("Next = %v, want ErrLagged", err)
	}
}

func TestWatch(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	d := New(f, backend.Config{MaxAlerts: 3}, &Options{WatchBatch: 2, PollInterval: 50 * time.Millisecond})
	defer d.Close()
	_ = d.Append(ctx, payloads(1, 2)) // before the watch: not delivered
	s, err := d.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Append(ctx, payloads(3, 3)) // fetched two at a time
	wantNext(t, s, 3, `{"n":3}`)
	wantNext(t, s, 4, `{"n":4}`)
	wantNext(t, s, 5, `{"n":5}`)

	t.Run("lag when trimmed unread", func(t *testing.T) {
		_ = d.Append(ctx, payloads(6, 5)) // 6..10, only 8..10 kept
		wantLagged(t, s)
		wantNext(t, s, 8, `{"n":8}`)
		wantNext(t, s, 9, `{"n":9}`)
		wantNext(t, s, 10, `{"n":10}`)
	})
	t.Run("lag when cleared unread", func(t *testing.T) {
		_ = d.Append(ctx, payloads(11, 1))
		_ = d.Clear(ctx)
		_ = d.Append(ctx, payloads(12, 1))
		wantLagged(t, s)
		wantNext(t, s, 12, `{"n":12}`)
	})
	t.Run("counter reset delivers what is stored", func(t *testing.T) {
		f.flush()
		_ = d.Append(ctx, payloads(13, 2)) // positions 1, 2
		wantLagged(t, s)
		wantNext(t, s, 1, `{"n":13}`)
		wantNext(t, s, 2, `{"n":14}`)
	})
	t.Run("lost notification is found by polling", func(t *testing.T) {
		f.mu.Lock()
		f.list = append(f.list, []byte(`{"n":15}`))
		f.seq++ // an append whose message was lost
		f.mu.Unlock()
		wantNext(t, s, 3, `{"n":15}`)
	})
	t.Run("foreign pushes are not delivered", func(t *testing.T) {
		// With the counter ahead of the list (the usual state once
		// the cap trims), a foreign entry takes the position of the
		// newest one: the watcher has it as read.
		_ = d.Append(ctx, payloads(16, 3))
		wantNext(t, s, 4, `{"n":16}`)
		wantNext(t, s, 5, `{"n":17}`)
		wantNext(t, s, 6, `{"n":18}`)
		f.foreignPush("foreign")
		_ = d.Append(ctx, payloads(19, 1))
		e, err := next(t, s)
		if err != nil || string(e.Data) != `{"n":19}` {
			t.Errorf("Next = %s, %v; want the append after the foreign push", e.Data, err)
		}
	})
	t.Run("unavailable, then resumes", func(t *testing.T) {
		f.mu.Lock()
		f.down = true
		f.mu.Unlock()
		if _, err := next(t, s); !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("Next while down = %v, want ErrUnavailable", err)
		}
		f.mu.Lock()
		f.down = false
		f.mu.Unlock()
		_ = d.Append(ctx, payloads(20, 1))
		if e, err := next(t, s); err != nil || string(e.Data) != `{"n":20}` {
			t.Errorf("Next after recovery = %s, %v", e.Data, err)
		}
	})
	t.Run("close ends Next", func(t *testing.T) {
		go func() {
			time.Sleep(50 * time.Millisecond)
			s.Close()
		}()
		if _, err := next(t, s); !errors.Is(err, backend.ErrClosed) {
			t.Errorf("Next across Close = %v, want ErrClosed", err)
		}
		s.Close() // returns once the subscription is released
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.subs) != 0 {
			t.Errorf("%d subscriptions left after Close", len(f.subs))
		}
	})
}

func TestWatchEndsWithContextAndDriver(t *testing.T) {
	f := newFake()
	d := New(f, backend.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s1, err := d.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := d.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := next(t, s1); !errors.Is(err, backend.ErrClosed) && !errors.Is(err, context.Canceled) {
		t.Errorf("Next after the watch's ctx ended = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := next(t, s2); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Next after the driver closed = %v, want ErrClosed", err)
	}
	if _, err := d.Watch(context.Background()); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
	if err := d.Close(); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) != 0 {
		t.Errorf("%d subscriptions left", len(f.subs))
	}
}

func TestTransient(t *testing.T) {
	for reply, want := range map[string]bool{
		"LOADING Redis is loading the dataset in memory": true,
		"BUSY Redis is busy running a script":            true,
		"OOM command not allowed":                        true,
		"READONLY You can't write against a replica":     true,
		"WRONGTYPE Operation against a key":              false,
		"NOAUTH Authentication required.":                false,
		"ERR unknown command":                            false,
		"LOADINGX":                                       false,
	} {
		if got := Transient(reply); got != want {
			t.Errorf("Transient(%q) = %v, want %v", reply, got, want)
		}
	}
}

// TestAppendOptions: an append asked to check ROLE and wait for replicas
// is acknowledged only when the node is master and enough replicas
// confirmed; every refusal wraps ErrUnavailable and calls OnUnavailable,
// an acknowledged append does not.
func TestAppendOptions(t *testing.T) {
	sentinelish := AppendOptions{Role: true, MinReplicas: 2, ReplicaTimeout: time.Second}
	for _, c := range []struct {
		name    string
		opts    AppendOptions
		role    string
		acked   int64
		waitErr error
		down    bool
		refused string // "" if acknowledged
	}{
		{"plain append ignores the role", AppendOptions{}, "slave", 0, nil, false, ""},
		{"role master", AppendOptions{Role: true}, "master", 0, nil, false, ""},
		{"role replica", AppendOptions{Role: true}, "slave", 0, nil, false, `answers ROLE "slave"`},
		{"enough replicas", sentinelish, "master", 2, nil, false, ""},
		{"more replicas than asked", sentinelish, "master", 3, nil, false, ""},
		{"too few replicas", sentinelish, "master", 1, nil, false, "not acknowledged by 2 replicas (1 within 1s)"},
		{"WAIT failed", sentinelish, "master", 0, errors.New("connection reset"), false, "WAIT for 2 replicas failed"},
		{"replica with replicas asked", sentinelish, "slave", 2, nil, false, `answers ROLE "slave"`},
		{"server down", sentinelish, "master", 2, nil, true, "unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			f.role, f.acked, f.waitErr, f.down = c.role, c.acked, c.waitErr, c.down
			kicks := 0
			d := New(f, backend.Config{}, &Options{Append: c.opts, OnUnavailable: func() { kicks++ }})
			err := d.Append(context.Background(), payloads(1, 1))
			if c.refused == "" {
				if err != nil || kicks != 0 {
					t.Fatalf("err = %v, OnUnavailable called %d times; want acknowledged, not called", err, kicks)
				}
				return
			}
			if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), c.refused) {
				t.Fatalf("err = %v, want ErrUnavailable saying %q", err, c.refused)
			}
			if kicks != 1 {
				t.Fatalf("OnUnavailable called %d times, want 1", kicks)
			}
		})
	}
}

// TestOversizedStayOnServer: the driver asks the script to leave entries
// over max_alert_bytes on the server, and returns them as TooLarge with
// their positions, to Scan and to a watch alike.
func TestOversizedStayOnServer(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	d := New(f, backend.Config{MaxAlertBytes: 100}, &Options{PollInterval: 50 * time.Millisecond})
	sub, err := d.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := d.Append(ctx, [][]byte{[]byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	f.foreignPush(strings.Repeat("x", 101))
	if err := d.Append(ctx, [][]byte{[]byte(`{"b":2}`)}); err != nil {
		t.Fatal(err)
	}
	es, err := d.Scan(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprintf("%d:%s:%d", e.Pos, e.Data, e.TooLarge))
	}
	if want := "3:{\"b\":2}:0 2::101 1:{\"a\":1}:0"; strings.Join(got, " ") != want {
		t.Errorf("Scan = %v, want %s", got, want)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var watched []int64
	for range 3 {
		e, err := sub.Next(wctx)
		if err != nil {
			t.Fatal(err)
		}
		watched = append(watched, e.TooLarge)
	}
	if fmt.Sprint(watched) != "[0 101 0]" {
		t.Errorf("watched TooLarge %v, want [0 101 0]", watched)
	}
}
