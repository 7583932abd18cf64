package migrations

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
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
	Retries       int       `json:"retries"`                   // attempts repeated after lock_timeout
	Resumed       bool      `json:"resumed,omitempty"`         // finished an interrupted no-transaction run
	ResumedAt     int       `json:"resumed_at,omitempty"`      // statements the interrupted run had finished; this run did the rest
	Rebuilt       []string  `json:"rebuilt_indexes,omitempty"` // INVALID indexes of an applied migration, built again
}

// Run takes the lock, re-plans from the current version (another runner may
// have moved it while we waited) and applies the plan. A dirty database left
// by an interrupted no-transaction run is resumed first, when the run goes
// the same way (see PlanFor).
func (r *Runner) Run(ctx context.Context, t Target) (Report, error) {
	rep := Report{FromVersion: noVersion, ToVersion: noVersion, Applied: []AppliedStep{}}
	err := r.withLock(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		if err := r.ensureTables(ctx, c); err != nil {
			return err
		}
		p, err := r.planFrom(ctx, c, t)
		rep.FromVersion, rep.ToVersion = p.FromVersion, p.FromVersion
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

// apply runs one file (or the rest of an interrupted one, or the rebuild of
// an applied one's INVALID indexes) and records it.
func (r *Runner) apply(ctx context.Context, c *pgxpool.Conn, s PlannedStep) (AppliedStep, error) {
	a := AppliedStep{Version: s.Version, Name: s.Name, Direction: s.Direction, File: s.File, NoTransaction: s.NoTransaction,
		Resumed: s.Resumes, ResumedAt: s.ResumeAt, Rebuilt: s.Rebuild}
	log := r.opts.Logger.With("version", s.Version, "file", s.File)
	switch {
	case len(s.Rebuild) > 0:
		log.WarnContext(ctx, "rebuilding invalid indexes of an applied migration", "indexes", s.Rebuild)
	case s.Resumes:
		log.InfoContext(ctx, "migration resumed", "direction", s.Direction, "statements_done", s.ResumeAt)
	default:
		log.InfoContext(ctx, "migration started", "direction", s.Direction, "no_transaction", s.NoTransaction)
	}
	start := time.Now()
	var err error
	switch {
	case len(s.Rebuild) > 0:
		err = r.rebuild(ctx, c, s, start, &a)
	case s.NoTransaction:
		err = r.applyNoTx(ctx, c, s, start, &a)
	default:
		err = r.applyTx(ctx, c, s, start, &a)
	}
	// A migration may SET search_path or other settings at session level;
	// reset them so the next file and the bookkeeping see a clean session
	// (tern does the same before updating its version).
	if !c.Conn().IsClosed() {
		if _, rerr := c.Exec(context.WithoutCancel(ctx), "RESET ALL"); rerr != nil && err == nil {
			err = fmt.Errorf("reset session after migration %d: %w", s.Version, rerr)
		}
	}
	if err != nil {
		return a, err
	}
	a.DurationMS = time.Since(start).Milliseconds()
	log.InfoContext(ctx, "migration applied", "duration", time.Since(start).Round(time.Millisecond), "retries", a.Retries)
	return a, nil
}

// clientCheckSQL makes the server poll the client's socket during long
// statements (PostgreSQL 14+), so that a killed quantx-db does not leave its
// session building an index, and holding the migration lock, until the build
// ends: the statement is cancelled within a second and the next run resumes.
const clientCheckSQL = `SELECT CASE WHEN current_setting('server_version_num')::int >= 140000
	THEN set_config('client_connection_check_interval', '1000', $1) END`

// applyTx runs the whole file and the version update in one transaction, so a
// failure leaves the previous version and no dirty flag (golang-migrate #282).
// The transaction runs under lock_timeout; a lock not granted (or a
// deadlock) rolls it back and it is retried with backoff (pglock.InTx): the
// migration must never queue behind a long query while every later query
// queues behind it.
func (r *Runner) applyTx(ctx context.Context, c *pgxpool.Conn, s PlannedStep, start time.Time, a *AppliedStep) error {
	stmts := Split(s.SQL)
	o := r.lockOptions()
	o.Logger = o.Logger.With("version", s.Version, "file", s.File)
	retries, err := pglock.InTx(ctx, c.Conn(), o, "", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, clientCheckSQL, true); err != nil {
			return err
		}
		for i, st := range stmts {
			if _, err := tx.Exec(ctx, st.SQL); err != nil {
				return &StepError{Version: s.Version, File: s.File, Direction: s.Direction, Line: st.Line, Statement: i + 1, Err: err}
			}
		}
		if err := r.setVersion(ctx, tx, s.target, false); err != nil {
			return err
		}
		return r.record(ctx, tx, historyRow{Version: s.Version, Name: s.Name, Direction: string(s.Direction),
			Checksum: s.Checksum, StartedAt: start, Duration: time.Since(start), Success: true, StatementsDone: len(stmts)})
	})
	a.Retries = retries
	if err == nil {
		return nil
	}
	err = stepFirst(err)
	if !c.Conn().IsClosed() {
		r.recordFailure(ctx, c, s, start, 0, err)
	}
	return err
}

// stepFirst puts the *StepError first when every attempt hit lock_timeout,
// so that the message names the file and statement that waited; the
// *pglock.TimeoutError moves inside it (errors.Is(err, ErrLockTimeout)
// still holds).
func stepFirst(err error) error {
	te, ok := errors.AsType[*pglock.TimeoutError](err)
	if !ok {
		return err
	}
	se, ok := errors.AsType[*StepError](te.Err)
	if !ok {
		return err
	}
	se.Err = &pglock.TimeoutError{Attempts: te.Attempts, Err: se.Err}
	return se
}

// applyNoTx runs the statements one by one outside a transaction, from
// s.ResumeAt on. The dirty flag and an unfinished history row are written
// first, in one transaction, and the row counts each finished statement: a
// run cut off at any point (kill -9, server restart) leaves a database that
// the next run resumes at the first unfinished statement. The statement that
// was cut off runs again, so statements of such files must be idempotent
// (IF NOT EXISTS, IF EXISTS); CREATE INDEX CONCURRENTLY is made so by the
// index builder, which drops the INVALID leftover of the cut-off build.
//
// After each statement the file must not have left a new INVALID index: such
// a statement counts as failed, and the version is recorded as applied only
// after the last statement passed that check.
func (r *Runner) applyNoTx(ctx context.Context, c *pgxpool.Conn, s PlannedStep, start time.Time, a *AppliedStep) error {
	stmts := Split(s.SQL)
	from := min(s.ResumeAt, len(stmts))
	var id int64
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if err := r.setVersion(ctx, tx, s.target, true); err != nil {
			return err
		}
		var err error
		id, err = r.openRun(ctx, tx, historyRow{Version: s.Version, Name: s.Name, Direction: string(s.Direction), Checksum: s.Checksum,
			StartedAt: start, StatementsDone: from}, statementsSHA(stmts[:from]))
		return err
	})
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, clientCheckSQL, false); err != nil {
		return err
	}
	// fail reports statement i (0-based) failing with done statements finished.
	fail := func(i, done int, err error) error {
		se := &StepError{Version: s.Version, File: s.File, Direction: s.Direction, Statement: i + 1, Done: done, Dirty: true, Err: err}
		if i < len(stmts) {
			se.Line = stmts[i].Line
		}
		if ctx.Err() == nil && isConnectionLost(c.Conn(), err) {
			se.Lost = true // the row keeps "i finished, no error": the next run resumes here
			return se
		}
		if !c.Conn().IsClosed() {
			if rerr := r.closeRun(context.WithoutCancel(ctx), c, id, time.Since(start), se); rerr != nil {
				r.opts.Logger.WarnContext(ctx, "could not record the failed migration", "version", s.Version, "error", rerr)
			}
		}
		return se
	}
	// Statements an earlier run finished whose index has become INVALID (an
	// older release recorded a failed build as done) are built again first.
	if from > 0 {
		invalid, err := partitions.InvalidIndexes(ctx, c, "")
		if err != nil {
			return fail(from, from, err)
		}
		for i, st := range stmts[:from] {
			if is, ok := partitions.ParseCreateIndex(st.SQL); ok && is.Concurrently && buildsAny(is, invalid) {
				if _, err := r.execNoTx(ctx, c, st); err != nil {
					return fail(i, from, err)
				}
			}
		}
	}
	for i := from; i < len(stmts); i++ {
		st := stmts[i]
		before, err := partitions.InvalidIndexes(ctx, c, "")
		if err != nil {
			return fail(i, i, err)
		}
		n, err := r.execNoTx(ctx, c, st)
		a.Retries += n
		if err == nil {
			err = newInvalidIndex(ctx, c, before)
		}
		if err != nil {
			return fail(i, i, err)
		}
		if err := r.progress(ctx, c, id, i+1, statementsSHA(stmts[:i+1])); err != nil {
			// The statement did its work but the record says it did not: the
			// next run repeats it, which an idempotent statement allows.
			return fail(i, i, err)
		}
	}
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if err := r.setVersion(ctx, tx, s.target, false); err != nil {
			return err
		}
		return r.closeRun(ctx, tx, id, time.Since(start), nil)
	})
}

// waitsForSnapshotsRE matches the statements whose waiting is for older
// transactions to end rather than in a lock queue in front of traffic, and
// whose lock (SHARE UPDATE EXCLUSIVE) blocks no reads or writes.
var waitsForSnapshotsRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?is)^\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b|DROP\s+INDEX\s+CONCURRENTLY\b|REINDEX\b.*\bCONCURRENTLY\b|ALTER\s+TABLE\b.*\bDETACH\s+PARTITION\b.*\bCONCURRENTLY\b)`)
})

// execNoTx runs one statement of a no-transaction file and returns how many
// times it was retried after lock_timeout or a deadlock.
//
// CREATE INDEX CONCURRENTLY with a name goes to the partitions package's
// builder (partitioned tables expanded, INVALID leftovers dropped first,
// validity checked). The other CONCURRENTLY statements run without
// lock_timeout and are not retried: cutting their wait for older snapshots
// short fails them, and leaves an INVALID index (golang-migrate and flyway
// users meet this as "INVALID index after a migration that succeeded"), and
// one cancelled as a deadlock victim may have left such an index or a
// pending detach for the next run to finish. Every other statement runs
// under lock_timeout and is retried: lock_timeout fires while waiting for
// the first lock, before the statement did anything.
func (r *Runner) execNoTx(ctx context.Context, c *pgxpool.Conn, st Statement) (int, error) {
	o := r.lockOptions()
	handled, err := partitions.CreateIndex(ctx, c.Conn(), st.SQL, partitions.IndexOptions{
		LockTimeout: o.Timeout, Retries: o.Retries, RetryBackoff: o.Backoff, Logger: o.Logger,
		Progress: r.opts.Progress})
	if handled || err != nil {
		return 0, err
	}
	if waitsForSnapshotsRE().MatchString(leadingComments().ReplaceAllString(st.SQL, "")) {
		o.Timeout, o.Retries = 0, 0
	}
	o.Logger = o.Logger.With("line", st.Line)
	return pglock.Exec(ctx, c.Conn(), o, "", st.SQL)
}

var leadingComments = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:\s+|--[^\n]*(?:\n|$)|/\*(?s:.*?)\*/)*`) })

// newInvalidIndex fails when an index that was valid or absent before a
// statement is INVALID after it (an unnamed CREATE INDEX CONCURRENTLY, a
// REINDEX CONCURRENTLY that failed half way). Builds running in other
// sessions are not ours and are left out.
func newInvalidIndex(ctx context.Context, c *pgxpool.Conn, before []partitions.InvalidIndex) error {
	after, err := partitions.InvalidIndexes(ctx, c, "")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, ix := range before {
		seen[ix.Schema+"."+ix.Name] = true
	}
	for _, ix := range after {
		if !ix.Building && !seen[ix.Schema+"."+ix.Name] {
			return fmt.Errorf("the statement left index %s: %w", ix, partitions.ErrInvalidIndex)
		}
	}
	return nil
}

func buildsAny(is partitions.IndexStatement, invalid []partitions.InvalidIndex) bool {
	for _, ix := range invalid {
		if !ix.Building && is.Builds(ix.Schema, ix.Name, ix.Table) {
			return true
		}
	}
	return false
}

// rebuild builds the INVALID indexes of an applied migration again with the
// statements that create them, and records it as a successful run of the
// file. The version does not change, and nothing is marked dirty: an
// interrupted rebuild leaves an INVALID index, which the next run rebuilds.
func (r *Runner) rebuild(ctx context.Context, c *pgxpool.Conn, s PlannedStep, start time.Time, a *AppliedStep) error {
	if _, err := c.Exec(ctx, clientCheckSQL, false); err != nil {
		return err
	}
	for _, st := range s.stmts {
		n, err := r.execNoTx(ctx, c, st)
		a.Retries += n
		if err != nil {
			// Not a StepError: nothing was rolled back, and the index stays
			// INVALID (or absent) until the next run up builds it.
			return fmt.Errorf("rebuild INVALID index of migration %d (%s:%d): %w", s.Version, s.File, st.Line, err)
		}
	}
	return r.record(ctx, c, historyRow{Version: s.Version, Name: s.Name, Direction: string(Up), Checksum: s.Checksum,
		NoTransaction: true, StartedAt: start, Duration: time.Since(start), Success: true, StatementsDone: len(s.stmts)})
}

// recordFailure writes the failed run to the history for the audit trail.
// It must not hide the migration's own error.
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
			return fmt.Errorf("baseline %d: %w (version %d)", v, ErrHasVersion, cur)
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
