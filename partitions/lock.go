package partitions

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/pglock"
)

// tableLock is one advisory lock per table, so that ensure and retention on
// activity_logs exclude each other while maintenance of another table
// proceeds. The key derivation is the one of every earlier release.
func (m *Manager) tableLock(table string) pglock.Lock {
	return pglock.NewLock("quantx-db/partitions:"+m.opts.Schema+"."+table, "maintenance lock of "+table)
}

// lockOptions are the Options' lock settings as pglock takes them.
func (o Options) lockOptions() pglock.Options {
	return pglock.Options{Wait: o.LockWait, Timeout: o.LockTimeout, Retries: o.Retries, Backoff: o.RetryBackoff, Logger: o.Logger}
}

// WithTableLock runs fn on one dedicated connection holding the maintenance
// lock of table. The lock is polled for up to Options.LockWait (pglock: with
// pg_try_advisory_lock, so a waiting runner holds no snapshot and cannot
// block the holder's CREATE INDEX CONCURRENTLY, golang-migrate #960). Past
// LockWait it returns an error wrapping ErrLocked. The lock is released, and
// the session reset, even after ctx is cancelled.
//
// The session runs with TimeZone UTC (partition bounds are read back as text).
func (m *Manager) WithTableLock(ctx context.Context, table string, fn func(ctx context.Context, conn *pgx.Conn) error) error {
	pc, err := m.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return pglock.With(ctx, pc, m.tableLock(table), m.opts.lockOptions(), func(ctx context.Context) error {
		if _, err := pc.Exec(ctx, "SELECT set_config('TimeZone', 'UTC', false)"); err != nil {
			return fmt.Errorf("set session time zone: %w", err)
		}
		return fn(ctx, pc.Conn())
	})
}

// inTx runs fn in one transaction under lock_timeout, retrying the whole
// transaction when a lock is not granted (pglock.InTx).
func inTx(ctx context.Context, conn *pgx.Conn, o Options, op string, fn func(tx pgx.Tx) error) error {
	_, err := pglock.InTx(ctx, conn, o.lockOptions(), op, fn)
	return err
}

// execNoTx runs one statement that must not run in a transaction block
// (CONCURRENTLY) under a session lock_timeout, retrying on lock failure
// (pglock.Exec).
func execNoTx(ctx context.Context, conn *pgx.Conn, o Options, op, sql string) error {
	_, err := pglock.Exec(ctx, conn, o.lockOptions(), op, sql)
	return err
}
