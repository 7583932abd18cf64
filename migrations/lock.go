package migrations

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
)

// lock is the runner lock. Its key is derived from the version table, so
// that two schemas in one database can be migrated at the same time without
// blocking each other; the derivation is the one of every earlier release.
func (r *Runner) lock() pglock.Lock {
	return pglock.NewLock("quantx-db/migrations:"+r.opts.Schema+"."+r.opts.Table, "migration lock")
}

// lockOptions are the runner's lock settings as pglock takes them.
func (r *Runner) lockOptions() pglock.Options {
	return pglock.Options{Wait: r.opts.LockWait, Timeout: r.opts.LockTimeout, Retries: r.opts.LockRetries,
		Backoff: r.opts.RetryBackoff, Logger: r.opts.Logger}
}

// withLock runs fn on one dedicated connection that holds the runner lock
// (pglock: polled with pg_try_advisory_lock, so a waiting runner cannot
// deadlock the holder's CREATE INDEX CONCURRENTLY; released even after ctx
// is cancelled).
func (r *Runner) withLock(ctx context.Context, fn func(ctx context.Context, c *pgxpool.Conn) error) error {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// A standby refuses every write, and the first one (the bookkeeping
	// tables) would fail with a message that does not say why.
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		conn.Release()
		return fmt.Errorf("connect: %w", err)
	}
	if standby {
		conn.Release()
		return fmt.Errorf("%w (in recovery): migrations must run on the primary", ErrStandby)
	}
	return pglock.With(ctx, conn, r.lock(), r.lockOptions(), func(ctx context.Context) error { return fn(ctx, conn) })
}
