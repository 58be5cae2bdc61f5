package goredis

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// DiscardClientLog drops go-redis's own log lines ("connection pool:
// failed to dial ..."), process-wide. Every such failure also reaches the
// caller as the error of the Store call that met it, so a program that
// reports its errors (the alertstore command does, once, with a hint) would
// otherwise show operators each failure two or three times. It is not done
// by default: the logger is global to go-redis, and a library must not
// silence a program's other clients.
func DiscardClientLog() { redis.SetLogger(discardLogger{}) }

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}
