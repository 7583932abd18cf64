package pglock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// IsLockFailure reports a lock that was not granted within lock_timeout
// (SQLSTATE 55P03) or a deadlock the server broke by cancelling us (40P01):
// in both cases the statement, and its transaction, changed nothing.
func IsLockFailure(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "55P03" || pgErr.Code == "40P01")
}

// delay is the pause before a retry whose base backoff is b: b plus up to
// half of b at random.
func delay(b time.Duration) time.Duration {
	return b + rand.N(b/2+1)
}

// Retry runs attempt until it succeeds, fails for a reason other than a lock
// (that error is returned, prefixed with op when op is not empty), or
// o.Retries retries have been spent (a *TimeoutError wrapping the last
// attempt's error). retries is how many attempts were repeated.
//
// It never retries once ctx is done: an attempt that failed on a lock after
// ctx was cancelled, or a cancellation during the pause, ends the loop with
// an error that wraps both ctx's error and the last attempt's.
func Retry(ctx context.Context, o Options, op string, attempt func(ctx context.Context) error) (retries int, err error) {
	backoff := o.backoff()
	for n := 0; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return n, nil
		}
		if !IsLockFailure(err) {
			if op != "" {
				err = fmt.Errorf("%s: %w", op, err)
			}
			return n, err
		}
		if ctx.Err() != nil {
			return n, stopped(ctx, op, n, err)
		}
		if n >= o.Retries {
			return n, &TimeoutError{Op: op, Attempts: n + 1, Err: err}
		}
		d := delay(backoff)
		log := o.logger()
		if op != "" {
			log = log.With("op", op)
		}
		log.WarnContext(ctx, "lock not granted, retrying", "attempt", n+1, "backoff", d, "error", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, stopped(ctx, op, n, err)
		case <-t.C:
		}
		backoff = min(backoff*2, MaxBackoff)
	}
}

func stopped(ctx context.Context, op string, n int, last error) error {
	what := "stopped"
	if op != "" {
		what = op + ": stopped"
	}
	return fmt.Errorf("%s after %d attempt(s) that hit a lock: %w (last attempt: %w)", what, n+1, ctx.Err(), last)
}

// Setting is the value of lock_timeout for d: milliseconds, "0" (off) when
// d <= 0, and at least 1 ms otherwise (a sub-millisecond d must not turn
// into "off").
func Setting(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}

// execer is a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// SetTimeout sets lock_timeout to d (Setting) for the rest of the
// transaction (local) or of the session.
func SetTimeout(ctx context.Context, q execer, d time.Duration, local bool) error {
	if _, err := q.Exec(ctx, "SELECT set_config('lock_timeout', $1, $2)", Setting(d), local); err != nil {
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	return nil
}

// InTx runs fn in one transaction on conn with lock_timeout o.Timeout set for
// that transaction, and retries the whole transaction as Retry does.
func InTx(ctx context.Context, conn *pgx.Conn, o Options, op string, fn func(tx pgx.Tx) error) (retries int, err error) {
	return Retry(ctx, o, op, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if err := SetTimeout(ctx, tx, o.Timeout, true); err != nil {
				return err
			}
			return fn(tx)
		})
	})
}

// Exec runs one statement that must not run in a transaction block
// (CONCURRENTLY) with a session lock_timeout of o.Timeout, retried as Retry
// does. The session's lock_timeout is reset afterwards.
func Exec(ctx context.Context, conn *pgx.Conn, o Options, op, sql string) (retries int, err error) {
	if err := SetTimeout(ctx, conn, o.Timeout, false); err != nil {
		if op != "" {
			err = fmt.Errorf("%s: %w", op, err)
		}
		return 0, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "RESET lock_timeout") //nolint:errcheck // best effort; Release resets the session too
	return Retry(ctx, o, op, func(ctx context.Context) error {
		_, err := conn.Exec(ctx, sql)
		return err
	})
}
