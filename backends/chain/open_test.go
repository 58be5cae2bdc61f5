package chain_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/bolt"
	"github.com/apt-detection/alertstore/backends/chain"
	"github.com/apt-detection/alertstore/backends/memory"
	"github.com/apt-detection/alertstore/registry"
)

func TestOpenByDSN(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	s, err := registry.Open(ctx, chain.FormatDSN("mem://", "bolt://"+path)+"&tier_timeout=1s&max_alerts=500")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != chain.Scheme {
		t.Fatalf("Backend() = %q", s.Backend())
	}
	st, ok := chain.StatusOf(s)
	if !ok || len(st.Tiers) != 2 || st.Tiers[0].Name != "mem" || st.Tiers[1].Name != "bolt" || st.Active != "mem" {
		t.Fatalf("status %+v", st)
	}
	if !strings.HasPrefix(st.Tiers[1].DSN, "bolt://"+path+"?") || !strings.Contains(st.Tiers[1].DSN, "max_alerts=500") {
		t.Fatalf("bolt tier DSN %q does not show the path and the inherited cap", st.Tiers[1].DSN)
	}
	// mem:// is private and volatile: the chain is neither shared nor
	// persistent nor durable, whatever bolt is.
	if got, want := s.Capabilities(), (backend.Capabilities{Watch: true}); got != want {
		t.Fatalf("capabilities %+v, want %+v", got, want)
	}
}

func TestCapabilitiesFromTiers(t *testing.T) {
	all := backend.Capabilities{Watch: true, Shared: true, Persistent: true, Durable: true}
	for _, c := range []struct {
		name  string
		tiers []backend.Capabilities
		want  backend.Capabilities
	}{
		{"redis-bolt", []backend.Capabilities{redisLike, all}, redisLike},
		{"bolt-bolt", []backend.Capabilities{all, all}, all},
		{"redis-bolt-memory", []backend.Capabilities{redisLike, all, {Watch: true}}, backend.Capabilities{Watch: true}},
		{"droppable", []backend.Capabilities{{Persistent: true, Drop: true}, {Persistent: true, Drop: true}}, backend.Capabilities{Persistent: true, Drop: true}},
		{"no-watch-tier", []backend.Capabilities{{Shared: true, Persistent: true, Durable: true}, all}, backend.Capabilities{Shared: true, Persistent: true, Durable: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tiers []chain.Tier
			for i, caps := range c.tiers {
				var d backend.Driver = newFlaky(memory.Open("", backend.Config{}, nil), caps, up)
				if caps.Drop {
					b, err := bolt.Open(context.Background(), filepath.Join(t.TempDir(), fmt.Sprint(i)), backend.Config{}, nil)
					if err != nil {
						t.Fatal(err)
					}
					d = droppable{newFlaky(b, caps, up)}
				}
				tiers = append(tiers, chain.Tier{Driver: d})
			}
			d, err := chain.New(context.Background(), tiers, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := d.Capabilities(); got != c.want {
				t.Fatalf("capabilities %+v, want %+v", got, c.want)
			}
			if _, err := backend.NewStore(d, "chain", backend.Config{}).Watch(context.Background()); c.want.Watch == (errors.Is(err, backend.ErrUnsupported)) {
				t.Fatalf("Watch = %v with watch capability %v", err, c.want.Watch)
			}
			if _, ok := d.(backend.Dropper); ok != c.want.Drop {
				t.Fatalf("implements Dropper: %v, declares drop: %v", ok, c.want.Drop)
			}
		})
	}
}

// A tier whose server is down when the chain opens (its opener fails with
// ErrUnavailable) does not stop the chain: writes go to the next tier, the
// prober opens it later, and the backlog moves up. Its secrets stay out of
// Status.
func TestTierUnreachableAtOpen(t *testing.T) {
	ctx := context.Background()
	var reachable atomic.Bool
	var opened atomic.Pointer[backend.Driver]
	r := &registry.Registry{}
	r.Register("fake", func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		if _, _, err := dsn.Secret("password"); err != nil {
			return nil, err
		}
		if err := dsn.Unknown(); err != nil {
			return nil, err
		}
		if !reachable.Load() {
			return nil, fmt.Errorf("%w: dial %s: connection refused", backend.ErrUnavailable, dsn.Host())
		}
		d := memory.Open("", cfg, nil)
		opened.Store(&d)
		return newFlaky(d, redisLike, up), nil
	})
	r.Register("mem", func(ctx context.Context, dsn *registry.DSN, cfg backend.Config) (backend.Driver, error) {
		return memory.Open("", cfg, nil), dsn.Unknown()
	})
	r.Register(chain.Scheme, chain.Opener(r))
	s, err := r.Open(ctx, chain.FormatDSN("fake://cache:6379?password=s3cret", "mem://")+"&probe_interval=20ms&probe_max=50ms")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, _ := chain.StatusOf(s)
	if st.Tiers[0].Opened || st.Active != "mem" || s.Capabilities() != (backend.Capabilities{}) {
		t.Fatalf("status %+v, capabilities %+v: want the fake tier not opened, writes on mem, no capabilities claimed", st, s.Capabilities())
	}
	for _, ts := range st.Tiers {
		if strings.Contains(ts.DSN+ts.LastError, "s3cret") {
			t.Fatalf("tier status leaks the password: %+v", ts)
		}
	}
	for i := 0; i < 5; i++ {
		if err := s.Store(ctx, backend.NewAlert()); err != nil {
			t.Fatal(err)
		}
	}
	reachable.Store(true)
	waitFor(t, 5*time.Second, "the tier to be opened and the backlog replayed", func() bool {
		st, _ := chain.StatusOf(s)
		return st.Active == "fake" && st.Backlog == 0 && st.Replayed == 5
	})
	if n, _ := (*opened.Load()).Count(ctx); n != 5 {
		t.Fatalf("the late tier holds %d, want 5", n)
	}
}

func TestStatusOfNonChain(t *testing.T) {
	s := backend.NewStore(memory.Open("", backend.Config{}, nil), "mem", backend.Config{})
	defer s.Close()
	if _, ok := chain.StatusOf(s); ok {
		t.Fatal("StatusOf a memory store reports a chain")
	}
	if _, ok := chain.StatusOf(nil); ok {
		t.Fatal("StatusOf(nil) reports a chain")
	}
}
