// Package goredisconv converts go-redis errors to the backend's sentinel
// errors, once for the goredis and sentinel backends, so that both classify
// a failure the same way.
package goredisconv

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// Error maps a go-redis error to the backend's sentinels, at the
// source, so that callers branch with errors.Is and never on go-redis
// types or message text:
//
//   - the client closed: ErrClosed;
//   - a deadline, a dropped or refused connection, a TLS or dial failure,
//     pool exhaustion: ErrUnavailable (the server could not be reached or
//     did not answer in time);
//   - a server reply that means "not now" (LOADING, BUSY, MASTERDOWN,
//     READONLY, OOM, MISCONF, ...): ErrUnavailable, with the reply;
//   - a TLS failure (a certificate that does not verify, a handshake the
//     server refused) and a server reply refusing our credentials or
//     rights (WRONGPASS, NOAUTH, NOPERM): ErrSecurity, never
//     ErrUnavailable, so that nobody retries or falls back on it;
//   - any other server reply (WRONGTYPE, ...): a plain error with the
//     reply, since retrying will not help;
//   - a cancelled context: returned as is, the caller asked for it.
//
// redis.Nil never reaches here: no operation of the layout has a nil
// reply (the scripts turn a missing counter into 0).
func Error(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.ErrClosed):
		return fmt.Errorf("%w: %v", backend.ErrClosed, err)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: no answer within the deadline: %w", backend.ErrUnavailable, err)
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted):
		return fmt.Errorf("%w: no free connection in the pool (raise pool_size?): %v", backend.ErrUnavailable, err)
	}
	if redisconf.TLSFailure(err) {
		return fmt.Errorf("%w: TLS: %v", backend.ErrSecurity, err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		if redisconf.Refusal(rerr.Error()) {
			return fmt.Errorf("%w: server replied: %w", backend.ErrSecurity, err)
		}
		if redislist.Transient(rerr.Error()) {
			return fmt.Errorf("%w: server replied %v", backend.ErrUnavailable, rerr)
		}
		return fmt.Errorf("server replied: %w", err)
	}
	// Everything else is the transport: dial, I/O, TLS, EOF.
	return fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
}
