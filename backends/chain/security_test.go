package chain_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
)

// errorLog keeps the messages of the error-level records it gets.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *errorLog) WithGroup(string) slog.Handler                 { return l }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.Key + "=" + a.Value.String()
		return true
	})
	l.msgs = append(l.msgs, msg)
	return nil
}

func (l *errorLog) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// A tier that fails a security check (its certificate does not verify,
// its credentials are refused) is never a reason to fall back: every call
// fails with ErrSecurity naming the tier, nothing lands in the next tier,
// the tier is not marked down, and an error-level record says so.
func TestSecurityFailureDoesNotFallBack(t *testing.T) {
	log := &errorLog{}
	cfg := backend.Config{Prefix: "t:", MaxAlerts: 10_000, Timeout: 5 * time.Second}
	opts := fastOptions(cfg)
	opts.Logger = slog.New(log)
	r := newRig(t, opts)
	r.storeN("before", 2)
	r.primary.set(untrusted)
	ctx := context.Background()
	a := backend.NewAlert()
	_ = a.SetEntity("host1")
	_, listErr := r.store.List(ctx, backend.Query{})
	_, countErr := r.store.Count(ctx)
	for op, err := range map[string]error{
		"store": r.store.Store(ctx, a),
		"list":  listErr,
		"count": countErr,
		"ping":  r.store.Ping(ctx),
	} {
		switch {
		case !errors.Is(err, backend.ErrSecurity):
			t.Errorf("%s with an untrusted primary: %v, want ErrSecurity", op, err)
		case errors.Is(err, backend.ErrUnavailable):
			t.Errorf("%s: %v also wraps ErrUnavailable (an outage invites a fallback)", op, err)
		case !strings.Contains(err.Error(), "primary"):
			t.Errorf("%s: %v does not name the tier", op, err)
		}
	}
	if n, _ := r.lower.Count(ctx); n != 0 {
		t.Errorf("the lower tier holds %d alerts: the chain fell back on a security failure", n)
	}
	if st := r.status(); st.Fallbacks != 0 || !st.Tiers[0].Healthy || !strings.Contains(st.Tiers[0].LastError, "unknown authority") {
		t.Errorf("status: fallbacks %d, primary healthy %t, last error %q; want 0, true, the TLS failure", st.Fallbacks, st.Tiers[0].Healthy, st.Tiers[0].LastError)
	}
	if !log.has("security failure") || !log.has("tier=primary") {
		t.Errorf("no error-level record naming the tier; got %q", log.msgs)
	}
}

// New fails, rather than start on the next tier, when a tier fails a
// security check at its first health check.
func TestSecurityFailureAtOpen(t *testing.T) {
	cfg := backend.Config{MaxAlerts: 100}
	p := newFlaky(memory.Open("", cfg, nil), redisLike, untrusted)
	l := memory.Open("", cfg, nil)
	_, err := chain.New(context.Background(), []chain.Tier{{Name: "redis", Driver: p}, {Name: "disk", Driver: l}}, fastOptions(cfg))
	if !errors.Is(err, backend.ErrSecurity) || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("New with an untrusted first tier = %v, want ErrSecurity naming the tier", err)
	}
}

// A tier already down (writes on the next tier) that comes back failing a
// security check stays down, and every probe says so at error level.
func TestSecurityFailureWhileProbing(t *testing.T) {
	log := &errorLog{}
	cfg := backend.Config{Prefix: "t:", MaxAlerts: 10_000, Timeout: 5 * time.Second}
	opts := fastOptions(cfg)
	opts.Logger = slog.New(log)
	r := newRig(t, opts)
	r.primary.set(down)
	r.storeN("during", 1)
	r.primary.set(untrusted)
	waitFor(t, 5*time.Second, "an error-level record from the probe", func() bool { return log.has("probing") })
	if st := r.status(); st.Tiers[0].Healthy {
		t.Error("the untrusted tier was restored")
	}
}
