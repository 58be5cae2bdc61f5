package bolt

import (
	"context"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/notify"
)

// Watch subscribes to the prefix's appends made through any driver of this
// file in this process. Notifications are sent after the commit, so a
// watcher never sees an alert that a crash could still take back.
func (d *driver) Watch(ctx context.Context) (backend.Subscription, error) {
	if err := d.check(ctx); err != nil {
		return nil, err
	}
	f, prefix := d.f, d.ns.prefix
	var q *notify.Queue
	q = notify.NewQueue(d.opts.WatchBuffer, func() {
		f.subsMu.Lock()
		delete(f.subs[prefix], q)
		if len(f.subs[prefix]) == 0 {
			delete(f.subs, prefix)
		}
		f.subsMu.Unlock()
		d.mu.Lock()
		delete(d.mySubs, q)
		d.mu.Unlock()
	})
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, backend.ErrClosed
	}
	d.mySubs[q] = struct{}{}
	d.mu.Unlock()
	f.subsMu.Lock()
	if f.subs[prefix] == nil {
		f.subs[prefix] = map[*notify.Queue]struct{}{}
	}
	f.subs[prefix][q] = struct{}{}
	f.subsMu.Unlock()
	q.CloseWhenDone(ctx)
	return q, nil
}
