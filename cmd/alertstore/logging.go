package main

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// quietRedisLogger drops go-redis's own log lines ("connection pool:
// failed to dial ..."). Every such failure also reaches us as the error of
// the call, which the command reports once, with a hint; printing the
// library's copy too would show operators each failure two or three times.
type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}

// The chain logs through log/slog; the command reports what matters from
// it once, itself (a failed call's error, reportDrops), for the same
// reason.
func init() {
	redis.SetLogger(quietRedisLogger{})
	slog.SetDefault(slog.New(slog.DiscardHandler))
}
