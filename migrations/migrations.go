// Package migrations applies the QuantX PostgreSQL schema as versioned,
// reversible SQL migrations. It is a library; the quantx-db CLI is one caller.
//
// Migration files follow golang-migrate's naming (NNNN_name.up.sql and
// NNNN_name.down.sql) and are read through golang-migrate's iofs source
// driver, and the version is kept in golang-migrate's schema_migrations table
// (version bigint, dirty boolean), so a database stays readable by
// golang-migrate and its pgx/v5 driver. The execution is our own, because
// that driver is the source of its users' top complaints:
//
//   - it never opens a transaction, so a failing file half-applies and leaves
//     the database "dirty" until someone runs force by hand (golang-migrate
//     #282, #196). Here each file runs in one transaction together with the
//     version update: a failure leaves the previous version, not dirty.
//   - a file whose first line is "-- quantx:no-transaction" runs statement by
//     statement outside a transaction (CREATE INDEX CONCURRENTLY), split by a
//     lexer that respects $$ bodies (#590); a failure names file:line.
//   - it blocks in pg_advisory_lock without a usable timeout (#269) and can
//     deadlock a running CREATE INDEX CONCURRENTLY (#960). Here the lock is
//     polled with pg_try_advisory_lock: a waiter never holds a snapshot.
//   - it keeps one row, no history and no checksums (#179, #310). Here every
//     run is recorded in quantx_migration_history with the file's sha256.
//   - a no-transaction file cut off part way (kill -9, a server restart, a
//     failing statement) stays dirty until someone runs force by hand. Here
//     each finished statement is recorded in the history row of the run, so
//     the next run resumes at the first unfinished one by itself; the
//     concurrent index builder drops the INVALID leftover of an interrupted
//     CREATE INDEX CONCURRENTLY first, and a file is recorded as applied only
//     once no statement of it left an INVALID index behind.
package migrations

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/internal/progress"
)

// Sentinel errors callers branch on.
var (
	// ErrLocked means another runner held the migration lock past LockWait
	// (the error is a *HeldError of the internal pglock package naming the
	// lock). It is the same value as partitions.ErrLocked: whichever
	// quantx-db lock was held, errors.Is(err, ErrLocked) says so.
	ErrLocked = pglock.ErrLocked
	// ErrLockTimeout means a migration's statements did not get their locks
	// within LockTimeout on any of the 1+LockRetries attempts; nothing of
	// that attempt was applied. The same value as partitions.ErrLockTimeout.
	ErrLockTimeout = pglock.ErrLockTimeout
	// ErrDirty means a no-transaction migration failed part way.
	ErrDirty = errors.New("database is dirty")
	// ErrUnknownVersion means a version is neither in the files nor -1.
	ErrUnknownVersion = errors.New("no migration has this version")
	// ErrDatabaseNewer means the database is at a version this binary does
	// not ship (usually: a newer release migrated it). See VersionError.
	ErrDatabaseNewer = errors.New("database version not shipped by this binary")
	// ErrStandby means the server is a read-only standby (in recovery).
	ErrStandby = errors.New("server is a read-only standby")
	// ErrHasVersion means Baseline found a database that already has a version.
	ErrHasVersion = errors.New("database already has a version")
)

// Options configures a Runner. The zero value of every field is usable.
//
// The three lock settings follow one rule, PostgreSQL's own for
// lock_timeout: 0 means off (negative values count as 0). LockWait 0 tries
// the runner lock once; LockTimeout 0 lets migration statements wait for
// their locks as long as it takes; LockRetries 0 never repeats an attempt.
// quantx-db itself runs with a 60 s wait, a 5 s lock_timeout and 3 retries
// (its --lock-wait, --lock-timeout and --lock-retries defaults).
type Options struct {
	Schema       string        // schema of the bookkeeping tables; "" means "public"
	Table        string        // version table; "" means "schema_migrations" (golang-migrate compatible)
	HistoryTable string        // "" means "quantx_migration_history"
	LockWait     time.Duration // how long to poll for the runner lock; 0: try once
	LockTimeout  time.Duration // PostgreSQL lock_timeout of migration statements; 0: none
	LockRetries  int           // attempts repeated after lock_timeout or a deadlock; 0: none
	RetryBackoff time.Duration // pause before the first retry, doubled each time, with jitter; 0 means 1s
	AppliedBy    string        // recorded in the history (for example the OS user and host); "" is fine
	Logger       *slog.Logger  // nil discards
	Progress     progress.Func // concurrent index builds as PostgreSQL reports them; nil reports nothing
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = "public"
	}
	if o.Table == "" {
		o.Table = "schema_migrations"
	}
	if o.HistoryTable == "" {
		o.HistoryTable = "quantx_migration_history"
	}
	o.LockWait, o.LockTimeout, o.LockRetries = max(o.LockWait, 0), max(o.LockTimeout, 0), max(o.LockRetries, 0)
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Runner applies migrations from one source to one database.
type Runner struct {
	pool       *pgxpool.Pool
	migrations []*Migration // ascending by version
	opts       Options
}

// New loads every migration from src (a folder of NNNN_name.{up,down}.sql
// files; see Files for the embedded set) and returns a Runner on pool. It
// fails on a malformed or duplicate file name before touching the database.
func New(pool *pgxpool.Pool, src fs.FS, opts Options) (*Runner, error) {
	if pool == nil {
		return nil, errors.New("migrations: nil pool")
	}
	ms, err := Load(src)
	if err != nil {
		return nil, err
	}
	return &Runner{pool: pool, migrations: ms, opts: opts.withDefaults()}, nil
}

// Migrations returns the loaded migrations in version order.
func (r *Runner) Migrations() []*Migration { return r.migrations }

// Migration is one version: its up file and (usually) its down file.
type Migration struct {
	Version uint64 `json:"version"`
	Name    string `json:"name"`
	Up      *File  `json:"up"`
	Down    *File  `json:"down,omitempty"`
}

// File is one migration file's content and how it runs.
type File struct {
	Path          string `json:"path"`
	SQL           string `json:"-"`
	Checksum      string `json:"checksum"`       // hex sha256 of the file's bytes, without lint-ignore lines (checksum.go)
	NoTransaction bool   `json:"no_transaction"` // first line is "-- quantx:no-transaction"
}

// StepError reports the migration that failed, where, and what had already
// been applied in this run. The driver error stays reachable via errors.As.
type StepError struct {
	Version   uint64
	File      string
	Direction Direction
	Line      int      // line of the failing statement in File; 0 if unknown
	Statement int      // 1-based index of the failing statement
	Done      int      // statements of File that had finished (no-transaction files); the next run resumes after them
	Applied   []uint64 // migrations fully applied in this run before the failure
	Dirty     bool     // true when the database is left dirty at Version
	Lost      bool     // the connection to the server was lost (restart, crash, network): nothing more could be recorded
	Err       error
}

func (e *StepError) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	verb := "failed"
	if e.Lost {
		verb = "interrupted, connection lost,"
	}
	msg := fmt.Sprintf("migration %d %s at %s (statement %d): %v", e.Version, verb, where, e.Statement, e.Err)
	if e.Dirty {
		msg += fmt.Sprintf("; %d earlier statement(s) of this no-transaction file had finished, database left dirty at %d, not recorded as applied", e.Done, e.Version)
	} else {
		msg += "; rolled back, database unchanged by this file"
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// Interruption describes the no-transaction run that left the database
// dirty, as its history row recorded it.
type Interruption struct {
	Version        uint64    `json:"version"`
	Name           string    `json:"name"`
	Direction      Direction `json:"direction"`
	File           string    `json:"file"`             // "" when this binary has no such file
	StatementsDone int       `json:"statements_done"`  // finished statements; a resumed run starts after them
	Statements     int       `json:"statements"`       // statements in this binary's file; 0 when unknown
	Error          string    `json:"error"`            // the failing statement's error; "" when the run was cut off (kill, crash, lost connection)
	Resumable      bool      `json:"resumable"`        // a run in Direction resumes it by itself
	Reason         string    `json:"reason,omitempty"` // why it cannot be resumed
	// The version to force once the file's work is finished by hand, and
	// once it is undone by hand (-1: no version).
	ForceDone   int64 `json:"force_done"`
	ForceUndone int64 `json:"force_undone"`
}

// DirtyError is returned by a run on a dirty database that it cannot
// resume: the record of the interrupted run is missing or no longer matches
// the file, or the run goes the other way (Interruption.Resumable is then
// true, and a run in Interruption.Direction resumes it).
type DirtyError struct {
	Version      int64 // the dirty version in schema_migrations
	Interruption Interruption
}

func (e *DirtyError) Error() string {
	i := e.Interruption
	msg := fmt.Sprintf("%v at version %d", ErrDirty, e.Version)
	if i.File != "" || i.Name != "" {
		what := i.File
		if what == "" {
			what = fmt.Sprintf("%d_%s (%s)", i.Version, i.Name, i.Direction)
		}
		how := "was cut off"
		if i.Error != "" {
			how = "failed: " + i.Error
		}
		msg += fmt.Sprintf(": %s %s after %d", what, how, i.StatementsDone)
		if i.Statements > 0 {
			msg += fmt.Sprintf(" of %d", i.Statements)
		}
		msg += " statement(s)"
	}
	switch {
	case !i.Resumable:
		msg += "; cannot resume: " + i.Reason
	default:
		msg += fmt.Sprintf("; a run going %s resumes it", i.Direction)
	}
	return msg
}

// Is makes errors.Is(err, ErrDirty) true.
func (e *DirtyError) Is(target error) bool { return target == ErrDirty }

// VersionError reports a database at a version this binary does not ship.
type VersionError struct {
	Database int64 // the database's current version
	Newest   int64 // the newest version this binary ships; -1: none
}

func (e *VersionError) Error() string {
	if e.Database > e.Newest {
		return fmt.Sprintf("database is at version %d, newer than this binary (its newest migration is %d)", e.Database, e.Newest)
	}
	return fmt.Sprintf("database is at version %d, which this binary does not ship (its newest migration is %d)", e.Database, e.Newest)
}

// Is makes errors.Is(err, ErrDatabaseNewer) true.
func (e *VersionError) Is(target error) bool { return target == ErrDatabaseNewer }
