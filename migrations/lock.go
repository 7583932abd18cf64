package migrations

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is derived from the version table, so that two schemas in one
// database can be migrated at the same time without blocking each other.
func lockKey(schema, table string) int64 {
	h := fnv.New64a()
	h.Write([]byte("quantx-db/migrations:" + schema + "." + table))
	return int64(h.Sum64())
}

// withLock runs fn on one dedicated connection that holds the session-level
// advisory lock. The lock is polled with pg_try_advisory_lock rather than
// waited for with pg_advisory_lock: a waiter blocked inside pg_advisory_lock
// sits in a transaction with a snapshot, and CREATE INDEX CONCURRENTLY in the
// lock holder waits for every such snapshot to end, which is the deadlock of
// golang-migrate #960 and flyway #1654. Each poll here is a short transaction.
func (r *Runner) withLock(ctx context.Context, fn func(ctx context.Context, c *pgxpool.Conn) error) (err error) {
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
	key := lockKey(r.opts.Schema, r.opts.Table)
	if err := r.pollLock(ctx, conn, key); err != nil {
		conn.Release()
		return err
	}
	defer func() {
		if conn.Conn().IsClosed() {
			// The session ended (server restart, lost connection) and its
			// lock with it; the pool discards the closed connection.
			conn.Release()
			return
		}
		// Unlock even after Ctrl-C cancelled ctx: a leaked session lock would
		// block every later run for as long as the pooled connection lives.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key); uerr != nil {
			// Closing the session releases the lock for certain.
			_ = conn.Hijack().Close(uctx)
			err = errors.Join(err, fmt.Errorf("release migration lock: %w", uerr))
			return
		}
		conn.Release()
	}()
	return fn(ctx, conn)
}

func (r *Runner) pollLock(ctx context.Context, conn *pgxpool.Conn, key int64) error {
	deadline := time.Now().Add(r.opts.LockWait)
	logged := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if ok {
			return nil
		}
		if !logged {
			r.opts.Logger.InfoContext(ctx, "waiting for migration lock", "wait", r.opts.LockWait)
			logged = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (waited %s)", ErrLocked, r.opts.LockWait)
		}
		// 100-300 ms with jitter: eight runners starting together must not poll in step.
		sleep := 100*time.Millisecond + rand.N(200*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sleep):
		}
	}
}
