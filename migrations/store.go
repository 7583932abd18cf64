package migrations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	error           text
)`)
	if err != nil {
		return fmt.Errorf("create bookkeeping tables: %w", err)
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
	Checksum   string
	AppliedAt  time.Time
	DurationMS int64
	DBUser     string
}

// lastApplied reads the newest successful up per version (empty if the table
// does not exist yet).
func (r *Runner) lastApplied(ctx context.Context, q querier) (map[uint64]appliedRecord, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (version) version, coalesce(checksum, ''), finished_at, duration_ms, db_user
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
		if err := rows.Scan(&v, &a.Checksum, &a.AppliedAt, &a.DurationMS, &a.DBUser); err != nil {
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

// lastFailure returns the newest failed run, for the dirty-database message.
func (r *Runner) lastFailure(ctx context.Context, q querier) (historyRow, bool) {
	var h historyRow
	var v int64
	var errText *string
	var done *int
	err := q.QueryRow(ctx, `SELECT version, name, direction, statements_done, error FROM `+r.historyTable()+`
		WHERE NOT success ORDER BY id DESC LIMIT 1`).Scan(&v, &h.Name, &h.Direction, &done, &errText)
	if err != nil {
		return h, false
	}
	h.Version = uint64(v)
	if errText != nil {
		h.Err = *errText
	}
	if done != nil {
		h.StatementsDone = *done
	}
	return h, true
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}
