package backend_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apt-detection/alertstore/backend"
)

// plain is a driver with no optional interface; caps is what it declares.
type plain struct{ caps backend.Capabilities }

func (plain) Append(context.Context, [][]byte) error                    { return nil }
func (plain) Scan(context.Context, int64, int) ([]backend.Entry, error) { return nil, nil }
func (plain) Count(context.Context) (int64, error)                      { return 0, nil }
func (plain) Clear(context.Context) error                               { return nil }
func (plain) Ping(context.Context) error                                { return nil }
func (p plain) Capabilities() backend.Capabilities                      { return p.caps }
func (plain) Close() error                                              { return nil }

// full implements every optional interface, and As for *string.
type full struct {
	plain
	dropped bool
}

func (f *full) Drop(context.Context) error { f.dropped = true; return nil }
func (*full) Watch(context.Context) (backend.Subscription, error) {
	return nil, errors.New("not in this test")
}
func (*full) Oldest(context.Context, int64, int) ([]backend.Entry, error) { return nil, nil }
func (*full) Remove(context.Context, int64) error                         { return nil }
func (*full) As(i any) bool {
	p, ok := i.(*string)
	if ok {
		*p = "underneath"
	}
	return ok
}

var all = backend.Capabilities{Watch: true, Drop: true, Drain: true, Persistent: true, Durable: true}

func TestCheckCapabilities(t *testing.T) {
	for _, c := range []struct {
		name string
		d    backend.Driver
		ok   bool
	}{
		{"none-none", plain{}, true},
		{"all-all", &full{plain: plain{all}}, true},
		{"declares-watch-only", plain{backend.Capabilities{Watch: true}}, false},
		{"declares-drop-only", plain{backend.Capabilities{Drop: true}}, false},
		{"declares-drain-only", plain{backend.Capabilities{Drain: true}}, false},
		{"implements-undeclared", &full{}, false},
		{"durable-not-persistent", plain{backend.Capabilities{Durable: true}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := backend.CheckCapabilities(c.d)
			if c.ok && err != nil {
				t.Fatalf("CheckCapabilities = %v, want nil", err)
			}
			if !c.ok && !errors.Is(err, backend.ErrInvalidConfig) {
				t.Fatalf("CheckCapabilities = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// An implemented interface is found only where its capability is declared.
func TestLookupsFollowDeclarations(t *testing.T) {
	undeclared := &full{}
	if _, ok := backend.WatcherOf(undeclared); ok {
		t.Error("WatcherOf found an undeclared Watcher")
	}
	if _, ok := backend.DropperOf(undeclared); ok {
		t.Error("DropperOf found an undeclared Dropper")
	}
	if _, ok := backend.DrainerOf(undeclared); ok {
		t.Error("DrainerOf found an undeclared Drainer")
	}
	declared := &full{plain: plain{all}}
	_, w := backend.WatcherOf(declared)
	_, dr := backend.DropperOf(declared)
	_, dn := backend.DrainerOf(declared)
	if !w || !dr || !dn {
		t.Errorf("declared and implemented: WatcherOf %t, DropperOf %t, DrainerOf %t; want all true", w, dr, dn)
	}
}

func TestStoreOptionalOperations(t *testing.T) {
	ctx := context.Background()
	undeclared := &full{}
	s := backend.NewStore(undeclared, "fake", backend.Config{})
	if err := s.Drop(ctx); !errors.Is(err, backend.ErrUnsupported) || undeclared.dropped {
		t.Errorf("Drop without the capability = %v (dropped %t), want ErrUnsupported and no call", err, undeclared.dropped)
	}
	if _, err := s.Watch(ctx); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Watch without the capability = %v, want ErrUnsupported", err)
	}
	declared := &full{plain: plain{all}}
	s = backend.NewStore(declared, "fake", backend.Config{})
	if err := s.Drop(ctx); err != nil || !declared.dropped {
		t.Errorf("Drop with the capability = %v (dropped %t)", err, declared.dropped)
	}
	_ = s.Close()
	if err := s.Drop(ctx); !errors.Is(err, backend.ErrClosed) {
		t.Errorf("Drop after Close = %v, want ErrClosed", err)
	}
}

func TestStoreAs(t *testing.T) {
	s := backend.NewStore(&full{}, "fake", backend.Config{})
	var got string
	if !s.As(&got) || got != "underneath" {
		t.Errorf("As(*string) = %q, want true and the driver's value", got)
	}
	var n int
	if s.As(&n) || s.As(nil) {
		t.Error("As accepted an unsupported type or nil")
	}
	if backend.NewStore(plain{}, "fake", backend.Config{}).As(&got) {
		t.Error("As on a driver without Aser reported true")
	}
}
