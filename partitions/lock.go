package partitions

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is one advisory lock key per table, so that ensure and retention on
// activity_logs exclude each other while maintenance of another table proceeds.
func lockKey(schema, table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("quantx-db/partitions:" + schema + "." + table))
	return int64(h.Sum64())
}

// WithTableLock runs fn on one dedicated connection holding the maintenance
// lock of table. The lock is polled with pg_try_advisory_lock for up to
// Options.LockWait rather than waited for in pg_advisory_lock: a session
// blocked in pg_advisory_lock holds a snapshot, and a CREATE INDEX
// CONCURRENTLY in the lock holder would wait for it forever (golang-migrate
// #960). Past LockWait it returns an error wrapping ErrLocked.
//
// The session runs with TimeZone UTC (partition bounds are read back as text)
// and is reset before it goes back to the pool.
func (m *Manager) WithTableLock(ctx context.Context, table string, fn func(ctx context.Context, conn *pgx.Conn) error) (err error) {
	pc, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	key := lockKey(m.opts.Schema, table)
	if err := m.pollLock(ctx, pc, table, key); err != nil {
		pc.Release()
		return err
	}
	defer func() {
		// Unlock even after Ctrl-C cancelled ctx: a leaked session lock would
		// block every later run for as long as the pooled connection lives.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, uerr := pc.Exec(uctx, "RESET ALL")
		if uerr == nil {
			_, uerr = pc.Exec(uctx, "SELECT pg_advisory_unlock($1)", key)
		}
		if uerr != nil {
			// Closing the session releases the lock for certain.
			_ = pc.Hijack().Close(uctx)
			err = errors.Join(err, fmt.Errorf("release maintenance lock of %s: %w", table, uerr))
			return
		}
		pc.Release()
	}()
	if _, err := pc.Exec(ctx, "SELECT set_config('TimeZone', 'UTC', false)"); err != nil {
		return fmt.Errorf("set session time zone: %w", err)
	}
	return fn(ctx, pc.Conn())
}

func (m *Manager) pollLock(ctx context.Context, pc *pgxpool.Conn, table string, key int64) error {
	deadline := time.Now().Add(m.opts.LockWait)
	logged := false
	for {
		var ok bool
		if err := pc.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
			return fmt.Errorf("take maintenance lock of %s: %w", table, err)
		}
		if ok {
			return nil
		}
		if !logged {
			m.opts.Logger.InfoContext(ctx, "waiting for maintenance lock", "table", table, "wait", m.opts.LockWait)
			logged = true
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("maintenance of %s: %w (waited %s)", table, ErrLocked, max(m.opts.LockWait, 0))
		}
		// 100-300 ms with jitter: cron jobs started together must not poll in step.
		sleep := 100*time.Millisecond + rand.N(200*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
	}
}

// LockTimeoutError reports a DDL statement that never got its lock.
type LockTimeoutError struct {
	Op       string // what was attempted, e.g. "create partition activity_logs_y2027m01"
	Attempts int
	Err      error // the last *pgconn.PgError (SQLSTATE 55P03)
}

func (e *LockTimeoutError) Error() string {
	return fmt.Sprintf("%s: %v after %d attempt(s): %v", e.Op, ErrLockTimeout, e.Attempts, e.Err)
}

// Unwrap returns the server's error.
func (e *LockTimeoutError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLockTimeout) true.
func (e *LockTimeoutError) Is(target error) bool { return target == ErrLockTimeout }

// isRetryable is a lock that was not granted in time, or a deadlock the
// server broke by cancelling us: in both cases nothing was changed.
func isRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01")
}

// retry runs attempt until it succeeds, fails for a reason other than a lock,
// or the retries are spent. The backoff doubles with jitter so that a DDL
// statement stops queueing (and making every later query queue behind it)
// while a long transaction finishes.
func retry(ctx context.Context, o Options, op string, attempt func() error) error {
	backoff := o.RetryBackoff
	for n := 1; ; n++ {
		err := attempt()
		if err == nil {
			return nil
		}
		if !isRetryable(err) {
			return fmt.Errorf("%s: %w", op, err)
		}
		if n > o.Retries || ctx.Err() != nil {
			return &LockTimeoutError{Op: op, Attempts: n, Err: err}
		}
		o.Logger.WarnContext(ctx, "lock not granted, retrying", "op", op, "attempt", n, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff + rand.N(backoff/2+1)):
		}
		backoff *= 2
	}
}

// inTx runs fn in one transaction with lock_timeout set for it, retrying the
// whole transaction when a lock is not granted.
func inTx(ctx context.Context, conn *pgx.Conn, o Options, op string, fn func(tx pgx.Tx) error) error {
	return retry(ctx, o, op, func() error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT set_config('lock_timeout', $1, true)", lockTimeoutMS(o)); err != nil {
				return err
			}
			return fn(tx)
		})
	})
}

// execNoTx runs one statement that must not run in a transaction block
// (CONCURRENTLY) with a session-level lock_timeout, retrying on lock failure.
func execNoTx(ctx context.Context, conn *pgx.Conn, o Options, op, sql string) error {
	if _, err := conn.Exec(ctx, "SELECT set_config('lock_timeout', $1, false)", lockTimeoutMS(o)); err != nil {
		return fmt.Errorf("%s: set lock_timeout: %w", op, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "RESET lock_timeout") //nolint:errcheck // best effort; the session is reset when released
	return retry(ctx, o, op, func() error {
		_, err := conn.Exec(ctx, sql)
		return err
	})
}

func lockTimeoutMS(o Options) string {
	if o.LockTimeout < 0 {
		return "0"
	}
	return fmt.Sprint(o.LockTimeout.Milliseconds())
}
