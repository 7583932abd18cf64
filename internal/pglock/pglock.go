// Package pglock is the one lock discipline of quantx-db's PostgreSQL work,
// shared by migrations, partitions and retention:
//
//   - a session advisory lock that serialises runners (two `migrate up`, or
//     `partitions ensure` and `retention apply` on one table). It is polled
//     with pg_try_advisory_lock, never waited for in pg_advisory_lock: a
//     session blocked in pg_advisory_lock sits in a statement with a
//     snapshot, and a CREATE INDEX CONCURRENTLY run by the lock holder waits
//     for every such snapshot to end, which is the deadlock of
//     golang-migrate #960 (flyway #1654). Each poll here is its own short
//     statement, so a waiting runner holds no snapshot between polls.
//     The lock is released even after ctx was cancelled (Ctrl-C), with a
//     context that survives the cancellation; when the session cannot be
//     cleaned up it is closed, which releases the lock for certain.
//   - DDL under lock_timeout, retried with exponential backoff and jitter
//     when the lock is not granted (or the server broke a deadlock by
//     cancelling us): in both cases the statement changed nothing. A
//     statement queued behind a long transaction makes every later query on
//     the table queue behind it; lock_timeout bounds that stall, and the
//     retry lets the long transaction finish. It never retries once ctx is
//     done.
//
// The errors are typed: *HeldError (errors.Is ErrLocked) when another
// session held the advisory lock for all of Options.Wait, and *TimeoutError
// (errors.Is ErrLockTimeout) when every attempt hit lock_timeout. The CLI
// maps both to exit code 4 in one place.
package pglock

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options are the lock settings of one run. The rule for Wait, Timeout and
// Retries is the same everywhere, and is PostgreSQL's own for lock_timeout:
// 0 means off (a negative value counts as 0).
//
//   - Wait 0: try the advisory lock once, and fail with *HeldError at once
//     when another session holds it.
//   - Timeout 0: no lock_timeout; a statement waits for its locks as long as
//     it takes.
//   - Retries 0: an attempt that hits lock_timeout is not repeated.
//
// The zero value is therefore usable but unguarded; the settings quantx-db
// uses unless told otherwise are DefaultWait and DefaultTimeout, and the
// retries of its --lock-retries flags.
type Options struct {
	Wait    time.Duration // how long to poll for the advisory lock
	Timeout time.Duration // lock_timeout of each attempt
	Retries int           // attempts repeated after lock_timeout (or a deadlock)
	// Backoff is the pause before the first retry; it doubles before each
	// later one (up to MaxBackoff), and up to half of it again is added at
	// random, so that runners started together do not retry in step. 0 means
	// DefaultBackoff: a retry without a pause would join the same lock queue
	// at once.
	Backoff time.Duration
	Logger  *slog.Logger // nil discards
}

// The settings quantx-db uses unless a flag says otherwise.
const (
	DefaultWait    = 60 * time.Second
	DefaultTimeout = 5 * time.Second
	DefaultBackoff = 250 * time.Millisecond
	// MaxBackoff caps the doubling, so that many retries do not turn into
	// pauses of hours.
	MaxBackoff = time.Minute
)

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o Options) backoff() time.Duration {
	if o.Backoff <= 0 {
		return DefaultBackoff
	}
	return min(o.Backoff, MaxBackoff)
}

// Sentinel errors callers branch on.
var (
	// ErrLocked means another session held the advisory lock for all of
	// Options.Wait. Every *HeldError matches it.
	ErrLocked = errors.New("another runner holds the lock")
	// ErrLockTimeout means a statement did not get its lock within
	// lock_timeout on any attempt: a long transaction holds the object.
	// Every *TimeoutError matches it.
	ErrLockTimeout = errors.New("lock not granted within lock_timeout")
)

// HeldError reports an advisory lock that another session held for all of
// the wait.
type HeldError struct {
	Lock   string        // the lock's name, e.g. "migration lock"
	Waited time.Duration // how long it was polled (Options.Wait)
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another runner holds the %s (waited %s)", e.Lock, e.Waited)
}

// Unwrap returns ErrLocked.
func (e *HeldError) Unwrap() error { return ErrLocked }

// TimeoutError reports work that never got its lock: every attempt hit
// lock_timeout (SQLSTATE 55P03) or was chosen as a deadlock victim (40P01).
// Nothing was changed by any attempt.
type TimeoutError struct {
	Op       string // what was attempted, e.g. "create partition activity_logs_y2027m01"; may be empty
	Attempts int
	Err      error // the last attempt's error; its *pgconn.PgError is reachable
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("%v after %d attempt(s): %v", ErrLockTimeout, e.Attempts, e.Err)
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	return msg
}

// Unwrap returns the last attempt's error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLockTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrLockTimeout }
