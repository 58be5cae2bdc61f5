package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/apt-detection/alertstore/backend"
)

// prepareBatch gives every alert its id and timestamp (as the Store would
// at its write, so the bytes measured are the bytes stored) and checks
// each against the store's size cap, before anything is written. Every
// alert over the cap is reported, by its input line when it came from
// stdin; then nothing is stored (exit 4).
func prepareBatch(env *cliEnv, alerts []*backend.Alert, lines []int, maxBytes int) error {
	now := time.Now()
	var over []int
	for i, a := range alerts {
		if a.ID() == "" {
			if _, ok := a.Get(backend.FieldID); !ok {
				id, err := backend.NewID()
				if err != nil {
					return err
				}
				if err := a.SetID(id); err != nil {
					return err
				}
			}
		}
		if _, ok := a.Get(backend.FieldTimestamp); !ok {
			if err := a.SetTime(now); err != nil {
				return err
			}
		}
		b, err := a.MarshalJSON()
		if err != nil {
			return err
		}
		if len(b) > maxBytes {
			over = append(over, i)
			env.notef("%s: %d bytes, over the store's cap of %d (max_alert_bytes)", where(lines, i), len(b), maxBytes)
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("%w: %d of %d alerts are larger than the store's cap of %d bytes (first: %s); nothing stored (raise max_alert_bytes or trim features)",
			backend.ErrTooLarge, len(over), len(alerts), maxBytes, where(lines, over[0]))
	}
	return nil
}

// where names alert i: its input line for put -, else "the alert".
func where(lines []int, i int) string {
	if i < len(lines) {
		return fmt.Sprintf("line %d", lines[i])
	}
	return "the alert"
}

// reportPartial says, after a failed write, exactly which input was
// stored: the first stored alerts, by line, and from which line on
// nothing was.
func reportPartial(env *cliEnv, lines []int, stored, total int) {
	switch {
	case stored == 0:
		env.notef("nothing was stored")
	case len(lines) == total:
		env.notef("the %d alerts of lines %d to %d were stored (their ids were printed); from line %d on, nothing was stored",
			stored, lines[0], lines[stored-1], lines[stored])
	default:
		env.notef("%d of %d alerts were stored (their ids were printed); the rest were not", stored, total)
	}
}

// atLine rewrites an error about alert k of the chunk that starts at
// alert first into one naming its input line, instead of its index in
// the chunk.
func atLine(err error, lines []int, first int) error {
	var ae *backend.AlertError
	if errors.As(err, &ae) && ae.Index >= 0 && first+ae.Index < len(lines) {
		return fmt.Errorf("line %d: %w", lines[first+ae.Index], err)
	}
	return err
}

// storedSome is an input error after which some alerts were stored
// (put --skip-invalid): report must not say that nothing was.
type storedSome struct {
	err error
}

func (e *storedSome) Error() string { return e.err.Error() }
func (e *storedSome) Unwrap() error { return e.err }
