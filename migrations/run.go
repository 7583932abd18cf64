package migrations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/partitions"
)

// Report lists what a run applied. Nothing pending is an empty report, not an error.
type Report struct {
	FromVersion int64         `json:"from_version"`
	ToVersion   int64         `json:"to_version"`
	Applied     []AppliedStep `json:"applied"` // never nil
}

// AppliedStep is one file that ran to completion.
type AppliedStep struct {
	Version       uint64    `json:"version"`
	Name          string    `json:"name"`
	Direction     Direction `json:"direction"`
	File          string    `json:"file"`
	NoTransaction bool      `json:"no_transaction"`
	DurationMS    int64     `json:"duration_ms"`
	Retries       int       `json:"retries"` // attempts repeated after lock_timeout
}

// Run takes the lock, re-plans from the current version (another runner may
// have moved it while we waited) and applies the plan.
func (r *Runner) Run(ctx context.Context, t Target) (Report, error) {
	rep := Report{FromVersion: noVersion, ToVersion: noVersion, Applied: []AppliedStep{}}
	err := r.withLock(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		if err := r.ensureTables(ctx, c); err != nil {
			return err
		}
		cur, dirty, err := r.readVersion(ctx, c)
		if err != nil {
			return err
		}
		rep.FromVersion, rep.ToVersion = cur, cur
		if dirty {
			return r.dirtyError(ctx, c, cur)
		}
		p, err := r.plan(cur, t)
		if err != nil {
			return err
		}
		for _, s := range p.Steps {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stopped before migration %d: %w", s.Version, err)
			}
			a, err := r.apply(ctx, c, s)
			if err != nil {
				var se *StepError
				if errors.As(err, &se) {
					for _, done := range rep.Applied {
						se.Applied = append(se.Applied, done.Version)
					}
				}
				return err
			}
			rep.Applied = append(rep.Applied, a)
			rep.ToVersion = s.target
		}
		return nil
	})
	return rep, err
}

// Up applies up to n pending migrations (0: all).
func (r *Runner) Up(ctx context.Context, n int) (Report, error) {
	return r.Run(ctx, Target{Direction: Up, Steps: n})
}

// Down reverts n migrations (0: all of them).
func (r *Runner) Down(ctx context.Context, n int) (Report, error) {
	return r.Run(ctx, Target{Direction: Down, Steps: n})
}

// Goto migrates up or down to exactly version v (-1: revert everything).
func (r *Runner) Goto(ctx context.Context, v int64) (Report, error) {
	return r.Run(ctx, Target{Version: &v})
}

func (r *Runner) dirtyError(ctx context.Context, q querier, cur int64) error {
	msg := fmt.Sprintf("%v at version %d", ErrDirty, cur)
	if h, ok := r.lastFailure(ctx, q); ok {
		msg += fmt.Sprintf(": the last run of %d_%s (%s, no-transaction) stopped after %d statement(s): %s",
			h.Version, h.Name, h.Direction, h.StatementsDone, h.Err)
	}
	return fmt.Errorf("%s: %w", msg, ErrDirty)
}

// apply runs one file and records it.
func (r *Runner) apply(ctx context.Context, c *pgxpool.Conn, s PlannedStep) (AppliedStep, error) {
	a := AppliedStep{Version: s.Version, Name: s.Name, Direction: s.Direction, File: s.File, NoTransaction: s.NoTransaction}
	log := r.opts.Logger.With("version", s.Version, "file", s.File)
	log.InfoContext(ctx, "migration started", "direction", s.Direction, "no_transaction", s.NoTransaction)
	start := time.Now()
	var err error
	if s.NoTransaction {
		err = r.applyNoTx(ctx, c, s, start, &a)
	} else {
		err = r.applyTx(ctx, c, s, start, &a)
	}
	// A migration may SET search_path or other settings at session level;
	// reset them so the next file and the bookkeeping see a clean session
	// (tern does the same before updating its version).
	if _, rerr := c.Exec(context.WithoutCancel(ctx), "RESET ALL"); rerr != nil && err == nil {
		err = fmt.Errorf("reset session after migration %d: %w", s.Version, rerr)
	}
	if err != nil {
		return a, err
	}
	a.DurationMS = time.Since(start).Milliseconds()
	log.InfoContext(ctx, "migration applied", "duration", time.Since(start).Round(time.Millisecond), "retries", a.Retries)
	return a, nil
}

func (r *Runner) lockTimeoutSQL() string {
	if r.opts.LockTimeout < 0 {
		return "0"
	}
	return fmt.Sprintf("%d", r.opts.LockTimeout.Milliseconds())
}

// applyTx runs the whole file and the version update in one transaction, so a
// failure leaves the previous version and no dirty flag (golang-migrate #282).
// A lock_timeout failure rolls back and retries with backoff: the migration
// must never queue behind a long query while every later query queues behind it.
func (r *Runner) applyTx(ctx context.Context, c *pgxpool.Conn, s PlannedStep, start time.Time, a *AppliedStep) error {
	stmts := Split(s.SQL)
	backoff := r.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT set_config('lock_timeout', $1, true)", r.lockTimeoutSQL()); err != nil {
				return err
			}
			for i, st := range stmts {
				if _, err := tx.Exec(ctx, st.SQL); err != nil {
					return &StepError{Version: s.Version, File: s.File, Line: st.Line, Statement: i + 1, Err: err}
				}
			}
			if err := r.setVersion(ctx, tx, s.target, false); err != nil {
				return err
			}
			return r.record(ctx, tx, historyRow{Version: s.Version, Name: s.Name, Direction: string(s.Direction),
				Checksum: s.Checksum, StartedAt: start, Duration: time.Since(start), Success: true, StatementsDone: len(stmts)})
		})
		if err == nil {
			return nil
		}
		if isLockTimeout(err) && attempt < r.opts.LockRetries && ctx.Err() == nil {
			a.Retries++
			r.opts.Logger.WarnContext(ctx, "lock timeout, retrying", "version", s.Version, "attempt", attempt+1, "backoff", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff *= 2
			continue
		}
		r.recordFailure(ctx, c, s, start, 0, err)
		return err
	}
}

// applyNoTx runs the statements one by one outside a transaction. The
// database is marked dirty first, as golang-migrate does, because a failure
// part way cannot be rolled back; the history records how far it got.
func (r *Runner) applyNoTx(ctx context.Context, c *pgxpool.Conn, s PlannedStep, start time.Time, a *AppliedStep) error {
	if err := r.setVersion(ctx, c, s.target, true); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, "SELECT set_config('lock_timeout', $1, false)", r.lockTimeoutSQL()); err != nil {
		return err
	}
	stmts := Split(s.SQL)
	for i, st := range stmts {
		// CREATE INDEX CONCURRENTLY cannot run on a partitioned parent; the
		// partitions package expands it into ON ONLY + one concurrent build per
		// partition + ATTACH, resumable, with its own lock_timeout retries.
		handled, err := partitions.CreateIndex(ctx, c.Conn(), st.SQL, partitions.IndexOptions{
			LockTimeout: r.opts.LockTimeout, Retries: r.opts.LockRetries, RetryBackoff: r.opts.RetryBackoff, Logger: r.opts.Logger})
		if handled || err != nil {
			if err != nil {
				se := &StepError{Version: s.Version, File: s.File, Line: st.Line, Statement: i + 1, Done: i, Dirty: true, Err: err}
				r.recordFailure(ctx, c, s, start, i, se)
				return se
			}
			continue
		}
		backoff := r.opts.RetryBackoff
		for attempt := 0; ; attempt++ {
			_, err := c.Exec(ctx, st.SQL)
			if err == nil {
				break
			}
			// Retrying is safe only for a statement that failed before doing
			// anything: lock_timeout fires while waiting for the first lock.
			if isLockTimeout(err) && attempt < r.opts.LockRetries && ctx.Err() == nil {
				a.Retries++
				r.opts.Logger.WarnContext(ctx, "lock timeout, retrying statement", "version", s.Version, "line", st.Line, "backoff", backoff)
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff *= 2
				continue
			}
			se := &StepError{Version: s.Version, File: s.File, Line: st.Line, Statement: i + 1, Done: i, Dirty: true, Err: err}
			r.recordFailure(ctx, c, s, start, i, se)
			return se
		}
	}
	if err := r.setVersion(ctx, c, s.target, false); err != nil {
		return err
	}
	return r.record(ctx, c, historyRow{Version: s.Version, Name: s.Name, Direction: string(s.Direction), Checksum: s.Checksum,
		NoTransaction: true, StartedAt: start, Duration: time.Since(start), Success: true, StatementsDone: len(stmts)})
}

// recordFailure writes the failed run to the history for the audit trail and
// the dirty-database message. It must not hide the migration's own error.
func (r *Runner) recordFailure(ctx context.Context, c *pgxpool.Conn, s PlannedStep, start time.Time, done int, cause error) {
	err := r.record(context.WithoutCancel(ctx), c, historyRow{Version: s.Version, Name: s.Name, Direction: string(s.Direction),
		Checksum: s.Checksum, NoTransaction: s.NoTransaction, StartedAt: start, Duration: time.Since(start),
		StatementsDone: done, Err: cause.Error()})
	if err != nil {
		r.opts.Logger.WarnContext(ctx, "could not record the failed migration", "version", s.Version, "error", err)
	}
}

// Force sets the version without running anything and clears the dirty
// flag: the repair after a no-transaction migration failed and the operator
// has finished or undone it by hand. v may be -1 (no version).
func (r *Runner) Force(ctx context.Context, v int64) error {
	if v != noVersion && r.index(v) < 0 {
		return fmt.Errorf("force %d: %w", v, ErrUnknownVersion)
	}
	return r.withLock(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		if err := r.ensureTables(ctx, c); err != nil {
			return err
		}
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := r.setVersion(ctx, tx, v, false); err != nil {
				return err
			}
			return r.record(ctx, tx, historyRow{Version: uint64(max(v, 0)), Name: r.nameOf(v), Direction: "force",
				StartedAt: time.Now(), Success: true})
		})
	})
}

// Baseline marks a database whose schema was created some other way as being
// at version v. It refuses a database that already has a version.
func (r *Runner) Baseline(ctx context.Context, v int64) error {
	if r.index(v) < 0 {
		return fmt.Errorf("baseline %d: %w", v, ErrUnknownVersion)
	}
	return r.withLock(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		if err := r.ensureTables(ctx, c); err != nil {
			return err
		}
		cur, dirty, err := r.readVersion(ctx, c)
		if err != nil {
			return err
		}
		if cur != noVersion || dirty {
			return fmt.Errorf("baseline %d: the database is already at version %d (use force to change it)", v, cur)
		}
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := r.setVersion(ctx, tx, v, false); err != nil {
				return err
			}
			return r.record(ctx, tx, historyRow{Version: uint64(v), Name: r.nameOf(v), Direction: "baseline",
				StartedAt: time.Now(), Success: true})
		})
	})
}

func (r *Runner) nameOf(v int64) string {
	if i := r.index(v); i >= 0 {
		return r.migrations[i].Name
	}
	return ""
}
