package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/internal/pglock"
)

// noVersion is the version of a database with no row in schema_migrations
// (golang-migrate's NilVersion).
const noVersion int64 = -1

// querier is what the bookkeeping statements need: a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (r *Runner) versionTable() string {
	return pgx.Identifier{r.opts.Schema, r.opts.Table}.Sanitize()
}

func (r *Runner) historyTable() string {
	return pgx.Identifier{r.opts.Schema, r.opts.HistoryTable}.Sanitize()
}

// ensureTables creates the bookkeeping tables. It runs under the runner lock:
// two concurrent CREATE TABLE IF NOT EXISTS can still collide in pg_type.
// schema_migrations has exactly golang-migrate's shape.
func (r *Runner) ensureTables(ctx context.Context, q querier) error {
	_, err := q.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+r.versionTable()+` (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
CREATE TABLE IF NOT EXISTS `+r.historyTable()+` (
	id              bigserial PRIMARY KEY,
	version         bigint      NOT NULL,
	name            text        NOT NULL,
	direction       text        NOT NULL CHECK (direction IN ('up', 'down', 'baseline', 'force')),
	checksum        text,
	no_transaction  boolean     NOT NULL DEFAULT false,
	started_at      timestamptz NOT NULL,
	finished_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
	duration_ms     bigint      NOT NULL DEFAULT 0,
	db_user         text        NOT NULL DEFAULT current_user,
	client          text,
	success         boolean     NOT NULL,
	statements_done integer,
	error           text,
	statements_sha256 text
)`)
	if err != nil {
		return fmt.Errorf("create bookkeeping tables: %w", err)
	}
	// History tables of older releases lack statements_sha256 (the text of
	// the statements a no-transaction run finished). ALTER TABLE needs the
	// table's owner even when the column exists, so only when it is missing.
	var has bool
	err = q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)
		AND attname = 'statements_sha256' AND NOT attisdropped)`, r.historyTable()).Scan(&has)
	if err == nil && !has {
		_, err = q.Exec(ctx, `ALTER TABLE `+r.historyTable()+` ADD COLUMN IF NOT EXISTS statements_sha256 text`)
	}
	if err != nil {
		return fmt.Errorf("upgrade bookkeeping tables: %w", err)
	}
	return nil
}

// readVersion returns the current version (noVersion when none) and the
// dirty flag. A missing table means no version.
func (r *Runner) readVersion(ctx context.Context, q querier) (int64, bool, error) {
	var v int64
	var dirty bool
	err := q.QueryRow(ctx, `SELECT version, dirty FROM `+r.versionTable()+` LIMIT 1`).Scan(&v, &dirty)
	switch {
	case errors.Is(err, pgx.ErrNoRows), isUndefinedTable(err):
		return noVersion, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("read version: %w", err)
	}
	return v, dirty, nil
}

// setVersion writes the version the way golang-migrate does: one row, or
// none for noVersion.
func (r *Runner) setVersion(ctx context.Context, q querier, v int64, dirty bool) error {
	if _, err := q.Exec(ctx, `DELETE FROM `+r.versionTable()); err != nil {
		return fmt.Errorf("set version: %w", err)
	}
	if v == noVersion && !dirty {
		return nil
	}
	if _, err := q.Exec(ctx, `INSERT INTO `+r.versionTable()+` (version, dirty) VALUES ($1, $2)`, v, dirty); err != nil {
		return fmt.Errorf("set version: %w", err)
	}
	return nil
}

// historyRow is one line of quantx_migration_history.
type historyRow struct {
	Version        uint64
	Name           string
	Direction      string
	Checksum       string
	NoTransaction  bool
	StartedAt      time.Time
	Duration       time.Duration
	Success        bool
	StatementsDone int
	Err            string
}

// openRun inserts the history row of a no-transaction run before its first
// statement, unfinished (success false, no error), so that a run cut off at
// any later point leaves a row that says how far it got. The caller writes
// it in the same transaction that marks the version dirty.
func (r *Runner) openRun(ctx context.Context, q querier, h historyRow, doneSHA string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO `+r.historyTable()+`
		(version, name, direction, checksum, no_transaction, started_at, client, success, statements_done, statements_sha256)
		VALUES ($1, $2, $3, $4, true, $5, $6, false, $7, $8) RETURNING id`,
		int64(h.Version), h.Name, h.Direction, h.Checksum, h.StartedAt, r.opts.AppliedBy, h.StatementsDone, doneSHA).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record history: %w", err)
	}
	return id, nil
}

// progress records that the first done statements of the run have finished.
func (r *Runner) progress(ctx context.Context, q querier, id int64, done int, doneSHA string) error {
	_, err := q.Exec(ctx, `UPDATE `+r.historyTable()+` SET statements_done = $2, statements_sha256 = $3, finished_at = clock_timestamp() WHERE id = $1`,
		id, done, doneSHA)
	if err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	return nil
}

// closeRun marks the run finished: successfully (cause nil) or failed.
func (r *Runner) closeRun(ctx context.Context, q querier, id int64, d time.Duration, cause error) error {
	var errText *string
	if cause != nil {
		t := cause.Error()
		errText = &t
	}
	_, err := q.Exec(ctx, `UPDATE `+r.historyTable()+` SET success = $2, error = $3, duration_ms = $4, finished_at = clock_timestamp() WHERE id = $1`,
		id, cause == nil, errText, d.Milliseconds())
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}

func (r *Runner) record(ctx context.Context, q querier, h historyRow) error {
	var errText *string
	if h.Err != "" {
		errText = &h.Err
	}
	var sum *string
	if h.Checksum != "" {
		sum = &h.Checksum
	}
	_, err := q.Exec(ctx, `INSERT INTO `+r.historyTable()+`
		(version, name, direction, checksum, no_transaction, started_at, duration_ms, client, success, statements_done, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		int64(h.Version), h.Name, h.Direction, sum, h.NoTransaction, h.StartedAt, h.Duration.Milliseconds(),
		r.opts.AppliedBy, h.Success, h.StatementsDone, errText)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}

// appliedRecord is the newest successful "up" of a version.
type appliedRecord struct {
	Name       string
	Checksum   string
	AppliedAt  time.Time
	DurationMS int64
	DBUser     string
}

// lastApplied reads the newest successful up per version (empty if the table
// does not exist yet).
func (r *Runner) lastApplied(ctx context.Context, q querier) (map[uint64]appliedRecord, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (version) version, name, coalesce(checksum, ''), finished_at, duration_ms, db_user
		FROM `+r.historyTable()+` WHERE direction = 'up' AND success ORDER BY version, id DESC`)
	if isUndefinedTable(err) {
		return map[uint64]appliedRecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := map[uint64]appliedRecord{}
	for rows.Next() {
		var v int64
		var a appliedRecord
		if err := rows.Scan(&v, &a.Name, &a.Checksum, &a.AppliedAt, &a.DurationMS, &a.DBUser); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		out[uint64(v)] = a
	}
	if err := rows.Err(); err != nil {
		if isUndefinedTable(err) {
			return map[uint64]appliedRecord{}, nil
		}
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}

// lastRun is the newest row of the history: when the database is dirty, the
// run that left it so (the row is written in the transaction that sets the
// dirty flag). ok is false when there is no history.
type lastRun struct {
	Version       uint64
	Name          string
	Direction     string
	Checksum      string
	NoTransaction bool
	Success       bool
	Done          int
	DoneSHA       string // "" for rows written before statements were tracked
	Err           string
}

func (r *Runner) lastRun(ctx context.Context, q querier) (lastRun, bool, error) {
	var h lastRun
	var v int64
	var errText, sum, doneSHA *string
	var done *int
	// to_jsonb(h): statements_sha256 is read even from a history table made
	// by an older release that lacks the column (status never alters tables).
	err := q.QueryRow(ctx, `SELECT version, name, direction, checksum, no_transaction, success, statements_done, error,
		to_jsonb(h) ->> 'statements_sha256' FROM `+r.historyTable()+` h ORDER BY id DESC LIMIT 1`).
		Scan(&v, &h.Name, &h.Direction, &sum, &h.NoTransaction, &h.Success, &done, &errText, &doneSHA)
	switch {
	case errors.Is(err, pgx.ErrNoRows), isUndefinedTable(err):
		return h, false, nil
	case err != nil:
		return h, false, fmt.Errorf("read history: %w", err)
	}
	h.Version = uint64(v)
	if errText != nil {
		h.Err = *errText
	}
	if sum != nil {
		h.Checksum = *sum
	}
	if doneSHA != nil {
		h.DoneSHA = *doneSHA
	}
	if done != nil {
		h.Done = *done
	}
	return h, true, nil
}

// unknownApplied lists the versions the history says were applied (their
// newest successful up or down is an up) that this binary has no file for,
// with their names.
func (r *Runner) unknownApplied(ctx context.Context, q querier) (map[uint64]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (version) version, name, direction FROM `+r.historyTable()+`
		WHERE success AND direction IN ('up', 'down') ORDER BY version, id DESC`)
	if isUndefinedTable(err) {
		return map[uint64]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := map[uint64]string{}
	for rows.Next() {
		var v int64
		var name, dir string
		if err := rows.Scan(&v, &name, &dir); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		if dir == "up" && r.index(v) < 0 {
			out[uint64(v)] = name
		}
	}
	if err := rows.Err(); err != nil && !isUndefinedTable(err) {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return out, nil
}

// lockHeld reports whether another session holds the migration lock: a run
// is in progress (or a killed runner's server session has not ended yet).
func (r *Runner) lockHeld(ctx context.Context, q querier) (bool, error) {
	return pglock.HeldElsewhere(ctx, q, r.lock())
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

// isConnectionLost reports an error after which the session is gone: the
// server shut down or crashed (SQLSTATE class 57P), or the connection closed.
func isConnectionLost(c *pgx.Conn, err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "57P") {
		return true
	}
	return c.IsClosed()
}
