// Package retention applies the QuantX retention policy to PostgreSQL without
// long transactions or long locks on the hot tables: expired months of
// activity_logs are archived to S3, detached and dropped as whole partitions
// (never a row-by-row DELETE), and terminal orders are flagged archived in
// small batches with a pause between them.
//
// It is a library; `quantx-db retention ...` is its caller. Work on a table
// holds that table's maintenance lock (the one partitions.Manager.Ensure
// takes), so retention and partition maintenance never overlap on a table.
package retention

import (
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/progress"
	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/partitions"
)

// ErrNoArchiveStore means the policy archives partitions but no S3 store was
// given and archiving was not switched off explicitly.
var ErrNoArchiveStore = errors.New("archiving is on but no S3 store is configured")

// ErrArchiveNotConfirmed means an uploaded archive could not be confirmed in
// the bucket (size or sha256 differ, or it is missing): the partition stays.
var ErrArchiveNotConfirmed = errors.New("archive not confirmed in the bucket")

// Options configures a Runner. The zero value of every field is a usable default.
type Options struct {
	Partitions partitions.Options // schema, lock_timeout, lock wait, retries, clock and logger
	Store      *s3store.Store     // where partition archives go; nil with archiving on is ErrNoArchiveStore
	NoArchive  bool               // drop expired partitions without archiving them (explicit opt-out)
	DryRun     bool               // report what would happen; change nothing
	// CheckPrivileges makes a dry run also check that the connected role could do the work it found
	// (own activity_logs to detach and drop its partitions, UPDATE orders), and fail with ErrWouldFail
	// where the real run would fail. Off, a dry run only reads (status uses it as an estimate).
	CheckPrivileges bool
	Logger          *slog.Logger // nil discards
	// StaleAfter is how long an incomplete multipart upload must have been idle before Apply aborts it
	// (what a run killed mid-archive, or a bucket that died under it, leaves behind). 0 means 15 minutes;
	// negative aborts every one. The sweep covers ArchivePrefix and StalePrefixes, and runs at the start
	// of every Apply that has a Store and is not a dry run.
	StaleAfter time.Duration
	// StalePrefixes are further prefixes (relative to the store's) to sweep, for example backups/.
	StalePrefixes []string
	// Progress receives the progress of a real run: expired months archived and dropped (phase
	// "retention"), the rows of each month's archive (phase "archive"), orders flagged (phase
	// "archive orders"); nil reports nothing.
	Progress progress.Func
}

// Runner applies one policy to one database.
type Runner struct {
	pool   *pgxpool.Pool
	policy Policy
	opts   Options
	parts  *partitions.Manager
	log    *slog.Logger
}

// New returns a Runner for policy on pool. The caller owns the pool and the store.
func New(pool *pgxpool.Pool, policy Policy, opts Options) *Runner {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	po := opts.Partitions
	if po.Logger == nil {
		po.Logger = log
	}
	return &Runner{pool: pool, policy: policy, opts: opts, parts: partitions.New(pool, po), log: log}
}

// Actions in a TableReport.
const (
	ActionDropPartitions = "drop_partitions"
	ActionArchiveRows    = "archive_rows"
)

// Report is the outcome of Apply, one entry per table of the policy.
type Report struct {
	DryRun bool          `json:"dry_run"`
	Now    time.Time     `json:"now"`
	Tables []TableReport `json:"tables"`
	// AbortedUploads are the keys of stale incomplete uploads aborted before the work began.
	AbortedUploads []string `json:"aborted_uploads"`
}

// TableReport is what retention did (or, in a dry run, would do) to one table.
type TableReport struct {
	Table      string            `json:"table"`
	Action     string            `json:"action"` // ActionDropPartitions or ActionArchiveRows
	Keep       string            `json:"keep"`
	Cutoff     time.Time         `json:"cutoff"` // rows older than this are expired
	Partitions []PartitionReport `json:"partitions"`
	Rows       int64             `json:"rows"`    // rows dropped or flagged (or that would be)
	Batches    int               `json:"batches"` // orders: UPDATE batches run (or needed)
	DurationMS int64             `json:"duration_ms"`
	Warnings   []string          `json:"warnings"`
	// DefaultExpiredRows are expired rows in the DEFAULT partition: retention
	// leaves them alone (it cannot tell which month's partition they would
	// belong to) until partitions.Manager.Ensure has moved them out.
	DefaultExpiredRows int64 `json:"default_expired_rows,omitempty"`
}

// PartitionReport is one expired partition.
type PartitionReport struct {
	Partition string    `json:"partition"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Rows      int64     `json:"rows"`
	RowsExact bool      `json:"rows_exact"`
	SizeBytes int64     `json:"size_bytes"`
	Archive   *Archive  `json:"archive,omitempty"`
	Detach    string    `json:"detach,omitempty"` // how it was detached (partitions.Detach*)
	Dropped   bool      `json:"dropped"`
}
