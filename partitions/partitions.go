// Package partitions keeps PostgreSQL partitioned tables in shape without
// blocking the hot tables that live in them: the monthly range children of
// activity_logs (premade from the clock, never from the newest row), the fixed
// hash set of transactions (verified, never guessed), and CREATE INDEX
// CONCURRENTLY made safe (CreateIndex): on partitioned parents, where
// PostgreSQL refuses it, and on any table without leaving an INVALID index
// behind (InvalidIndexes lists those that exist).
//
// It is a library; `quantx-db partitions ...`, `quantx-db status` and the
// retention package are its callers. Every DDL statement runs under
// lock_timeout and is retried with backoff, and maintenance of one table is
// serialised across processes by a session advisory lock (both from the
// internal pglock package, shared with migrations; see lock.go).
// docs/partitions.md explains the lock discipline in detail.
package partitions

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
)

// Sentinel errors callers branch on.
var (
	// ErrLocked means another process held the table's maintenance lock past
	// LockWait. It is the same value as migrations.ErrLocked.
	ErrLocked = pglock.ErrLocked
	// ErrLockTimeout means a DDL statement did not get its lock within
	// lock_timeout on any attempt: a long transaction holds the table. The
	// error names the operation and the attempts; the server's error stays
	// reachable. It is the same value as migrations.ErrLockTimeout.
	ErrLockTimeout = pglock.ErrLockTimeout
	// ErrDrift means the catalog holds something the maintenance will not
	// overwrite: a table with a partition's name that is not a partition, or
	// a partition whose bounds overlap a month only in part.
	ErrDrift = errors.New("schema drift")
	// ErrNotPartitioned means the table is not a partitioned table.
	ErrNotPartitioned = errors.New("not a partitioned table")
)

// The monthly range-partitioned table this package premakes children for.
const (
	// MonthlyTable is the parent of the monthly partitions.
	MonthlyTable = "activity_logs"
	// DefaultPartition is its DEFAULT partition.
	DefaultPartition = "activity_logs_default"
)

// Options configures a Manager. The zero value of every field is usable.
//
// The three lock settings follow one rule, PostgreSQL's own for
// lock_timeout: 0 means off (negative values count as 0). LockWait 0 tries
// the table's maintenance lock once; LockTimeout 0 lets DDL wait for its
// locks as long as it takes; Retries 0 never repeats an attempt. quantx-db
// itself runs with a 60 s wait, a 5 s lock_timeout and 4 retries (its
// --lock-wait, --lock-timeout and --lock-retries defaults).
type Options struct {
	Schema       string           // schema of the tables; "" means "public"
	LockTimeout  time.Duration    // PostgreSQL lock_timeout of every DDL statement; 0: none
	LockWait     time.Duration    // how long to poll for the per-table advisory lock; 0: try once
	Retries      int              // attempts repeated after lock_timeout or a deadlock; 0: none
	RetryBackoff time.Duration    // pause before the first retry, doubled each time, with jitter; 0 means 250ms
	Now          func() time.Time // the clock that decides "the current month"; nil means time.Now
	Logger       *slog.Logger     // nil discards
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = "public"
	}
	o.LockWait, o.LockTimeout, o.Retries = max(o.LockWait, 0), max(o.LockTimeout, 0), max(o.Retries, 0)
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = pglock.DefaultBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Manager runs partition maintenance on one database.
type Manager struct {
	pool *pgxpool.Pool
	opts Options
}

// New returns a Manager that uses pool. The caller owns the pool.
func New(pool *pgxpool.Pool, opts Options) *Manager {
	return &Manager{pool: pool, opts: opts.withDefaults()}
}

// Partition is one child of a partitioned table, as the catalog describes it.
type Partition struct {
	Table     string `json:"table"`
	Name      string `json:"partition"`
	Strategy  string `json:"strategy"` // "range", "list" or "hash"
	Bounds    string `json:"bounds"`   // pg_get_expr(relpartbound), e.g. FOR VALUES FROM (...) TO (...)
	Default   bool   `json:"default"`
	Rows      int64  `json:"rows"`
	RowsExact bool   `json:"rows_exact"` // false: pg_class.reltuples estimate (0 before the first ANALYZE)
	SizeBytes int64  `json:"size_bytes"` // pg_total_relation_size: heap, indexes and TOAST

	// Range bounds in UTC, zero for MINVALUE/MAXVALUE, list, hash and DEFAULT partitions.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Hash bounds.
	Modulus   int `json:"modulus,omitempty"`
	Remainder int `json:"remainder,omitempty"`
}

// HashCheck is the verdict on one hash-partitioned table: every remainder of
// the largest modulus must be covered, or inserts hashing there fail.
type HashCheck struct {
	Table      string `json:"table"`
	Modulus    int    `json:"modulus"`
	Partitions int    `json:"partitions"`
	Missing    []int  `json:"missing_remainders"` // remainders of Modulus no partition covers
	OK         bool   `json:"ok"`
}

// String is the one-line verdict for people.
func (h HashCheck) String() string {
	if h.OK {
		return fmt.Sprintf("%s: all %d remainders of modulus %d present", h.Table, h.Modulus, h.Modulus)
	}
	return fmt.Sprintf("%s: hash partitions missing for remainder(s) %v of modulus %d: inserts hashing there fail", h.Table, h.Missing, h.Modulus)
}
