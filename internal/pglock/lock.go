package pglock

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lock names one session advisory lock.
type Lock struct {
	Key  int64  // the pg_advisory_lock key
	Name string // for errors and logs, e.g. "maintenance lock of activity_logs"
}

// NewLock returns the lock called name whose key is derived from id. The
// key is FNV-1a (64 bit) of id: the same id gives the same key in every
// release, so that an older and a newer quantx-db still exclude each other.
func NewLock(id, name string) Lock {
	h := fnv.New64a()
	h.Write([]byte(id))
	return Lock{Key: int64(h.Sum64()), Name: name}
}

// pollInterval is the pause between two polls: 100-300 ms with jitter, so
// that runners started together (eight pods, cron jobs at :00) do not poll
// in step.
func pollInterval() time.Duration {
	return 100*time.Millisecond + rand.N(200*time.Millisecond)
}

// Acquire takes l on conn, polling pg_try_advisory_lock until it is granted,
// o.Wait has passed (a *HeldError) or ctx is done (ctx's error, wrapped).
// Between polls the session is idle, outside any transaction.
func Acquire(ctx context.Context, conn *pgx.Conn, l Lock, o Options) error {
	wait := max(o.Wait, 0)
	deadline := time.Now().Add(wait)
	logged := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", l.Key).Scan(&ok); err != nil {
			return fmt.Errorf("take the %s: %w", l.Name, err)
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return &HeldError{Lock: l.Name, Waited: wait}
		}
		if !logged {
			o.logger().InfoContext(ctx, "waiting for lock", "lock", l.Name, "wait", wait)
			logged = true
		}
		t := time.NewTimer(min(pollInterval(), max(time.Until(deadline), time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for the %s: %w", l.Name, ctx.Err())
		case <-t.C:
		}
	}
}

// Release resets the session (RESET ALL, so that no setting of the work
// leaks to the pool's next user) and releases l, then returns c to its
// pool. It uses a context that survives ctx's cancellation: after Ctrl-C a
// leaked session lock would block every later run for as long as the pooled
// connection lives. When the session cannot be reset and unlocked, it is
// closed, which releases the lock for certain; the error says so.
func Release(ctx context.Context, c *pgxpool.Conn, l Lock) error {
	if c.Conn().IsClosed() {
		// The session ended (server restart, lost connection, a cancelled
		// statement) and its lock with it; the pool discards the connection.
		c.Release()
		return nil
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := c.Exec(uctx, "RESET ALL")
	if err == nil {
		_, err = c.Exec(uctx, "SELECT pg_advisory_unlock($1)", l.Key)
	}
	if err != nil {
		_ = c.Hijack().Close(uctx)
		return fmt.Errorf("release the %s (session closed instead): %w", l.Name, err)
	}
	c.Release()
	return nil
}

// With takes l on c as Acquire does, runs fn while holding it, and releases
// it as Release does. c goes back to its pool (or is closed) in every case,
// so the caller must not use or release it afterwards.
func With(ctx context.Context, c *pgxpool.Conn, l Lock, o Options, fn func(ctx context.Context) error) (err error) {
	if err := Acquire(ctx, c.Conn(), l, o); err != nil {
		if _, held := errors.AsType[*HeldError](err); held || c.Conn().IsClosed() {
			c.Release()
			return err
		}
		// A poll cut short by ctx may have been granted on the server all
		// the same: unlock before the session goes back to the pool.
		if rerr := Release(ctx, c, l); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	defer func() {
		if rerr := Release(ctx, c, l); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	return fn(ctx)
}

// querier is a connection, a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// HeldElsewhere reports whether a session other than q's holds l in q's
// database (a run in progress, or the server session of a killed runner
// that has not ended yet). It reads pg_locks and takes nothing.
func HeldElsewhere(ctx context.Context, q querier, l Lock) (bool, error) {
	key := uint64(l.Key)
	var held bool
	// A bigint advisory key shows in pg_locks as classid (high 32 bits), objid
	// (low 32 bits), objsubid 1. pg_locks lists every database's locks, and
	// advisory locks are per database: the same key elsewhere is not ours.
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1 AND pid <> pg_backend_pid())`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("read locks: %w", err)
	}
	return held, nil
}
