package registry

import (
	"context"

	"github.com/apt-detection/alertstore/backend"
)

type observerKey struct{}

// WithObserver returns a context whose Open gives every store it opens the
// observer o (Store.SetObserver): a metrics exporter counts every call
// (backend.Counters is a ready-made one) without importing a backend.
func WithObserver(ctx context.Context, o backend.Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

func observerFrom(ctx context.Context) backend.Observer {
	o, _ := ctx.Value(observerKey{}).(backend.Observer)
	return o
}
