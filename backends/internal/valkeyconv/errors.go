// Package valkeyconv converts valkey-go errors to the backend's sentinel
// errors, once for the valkey and sentinel backends, so that both classify
// a failure the same way.
package valkeyconv

import (
	"context"
	"errors"
	"fmt"

	"github.com/valkey-io/valkey-go"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/backends/internal/redisconf"
	"github.com/apt-detection/alertstore/backends/internal/redislist"
)

// Error maps a valkey-go error to the backend's sentinels, at the
// source, so that callers branch with errors.Is and never on valkey-go
// types or message text:
//
//   - a deadline, a dropped or refused connection, a TLS or dial failure,
//     a client that cannot connect (valkey.ErrClosing): ErrUnavailable;
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
// valkey.ErrClosing also means "closed", but a call on a closed driver
// never reaches the client: the driver answers ErrClosed first.
// valkey-go's nil reply never reaches here: no operation of the layout has
// one (the scripts turn a missing counter into 0).
func Error(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, backend.ErrClosed):
		return err
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: no answer within the deadline: %w", backend.ErrUnavailable, err)
	}
	if redisconf.TLSFailure(err) {
		return fmt.Errorf("%w: TLS: %v", backend.ErrSecurity, err)
	}
	if verr, ok := valkey.IsValkeyErr(err); ok {
		if redisconf.Refusal(verr.Error()) {
			return fmt.Errorf("%w: server replied: %w", backend.ErrSecurity, err)
		}
		if redislist.Transient(verr.Error()) {
			return fmt.Errorf("%w: server replied %v", backend.ErrUnavailable, verr)
		}
		return fmt.Errorf("server replied: %w", err)
	}
	// Everything else is the transport: dial, I/O, TLS, EOF, ErrClosing.
	return fmt.Errorf("%w: %v", backend.ErrUnavailable, err)
}
