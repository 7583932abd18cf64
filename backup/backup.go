// Package backup streams PostgreSQL and InfluxDB backups into an S3 bucket and restores them, with a
// catalogue made of one manifest object per backup.
//
// Layout under the store's prefix (every key readable with any S3 client):
//
//	backups/<id>/<database>.pgdump[.age]          pg_dump -Fc, byte for byte (restorable with pg_restore)
//	backups/<id>/globals.sql[.age]                pg_dumpall --globals-only (roles, tablespaces)
//	backups/<id>/<database>.influx.tar.gz[.age]   influxd backup -portable, as a gzip tar
//	backups/<id>/manifest.json                    written LAST
//
// A backup exists only once its manifest exists: list, restore and prune read manifests only, so a run
// that dies before the end leaves nothing a restore could pick. Its multipart upload is aborted by the
// next backup run or by prune (see Options.StaleAfter); objects without a manifest are removed by prune.
//
// Physical backups, WAL archiving and point-in-time restores run on pgBackRest into the same bucket
// under pgbackrest/ (Physical: physical.go, wal_setup.go, wal_status.go, pitr.go); list and prune
// include them. The package returns facts and sentinel or typed errors; the commands and hints a
// person needs are written by its caller.
package backup

import (
	"errors"
	"log/slog"
	"time"

	"github.com/quantx/quantx-db/internal/progress"
	"github.com/quantx/quantx-db/internal/s3store"
)

// Kind is what was backed up.
type Kind string

// Kinds of backup.
const (
	KindPostgres Kind = "postgres"
	KindInflux   Kind = "influx"
)

// Sentinel errors for conditions callers branch on.
var (
	ErrNotFound          = errors.New("backup not found")
	ErrVersionMismatch   = errors.New("client tool and server major versions differ")
	ErrToolMissing       = errors.New("required tool not found")
	ErrTargetNotEmpty    = errors.New("target database is not empty")
	ErrChecksumMismatch  = errors.New("backup object does not match its manifest")
	ErrEncrypted         = errors.New("backup is encrypted and no identity was given")
	ErrEmptyPolicy       = errors.New("prune policy keeps nothing: give at least one of keep-last, keep-daily, keep-weekly")
	ErrDatabaseExists    = errors.New("influx database already exists")
	ErrInvalidTimeWindow = errors.New("give both start and end of the time window, or neither")
	ErrWrongKind         = errors.New("backup is of another kind")
	ErrNoSpace           = errors.New("not enough free disk space")
)

// Options configure a Catalogue. The zero value works.
type Options struct {
	Logger *slog.Logger     // nil discards
	Now    func() time.Time // nil is time.Now
	// Progress receives the progress of transfers (bytes), restores (pg_restore's items) and row
	// counts (tables); nil reports nothing.
	Progress progress.Func
	// StaleAfter is how long an incomplete upload or a manifest-less backup folder must have been idle
	// before a backup run or prune removes it: a running backup stores a part every 16 MiB, so it is
	// never that idle. 0 means 15 minutes; negative means "remove all" (only when nothing else runs).
	StaleAfter time.Duration
	// StalePrefixes are further prefixes (relative to the store's) whose stale incomplete uploads a backup
	// run and prune abort as well, for example retention's archive prefix: every run that uploads cleans
	// up after every kind of run that was killed.
	StalePrefixes []string
	// ToolVersion is recorded in manifests (quantx-db's version).
	ToolVersion string
}

// Catalogue is the set of backups in one bucket/prefix.
type Catalogue struct {
	store *s3store.Store
	o     Options
	log   *slog.Logger
}

// New returns the catalogue stored in store.
func New(store *s3store.Store, o Options) *Catalogue {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = 15 * time.Minute
	}
	return &Catalogue{store: store, o: o, log: o.Logger}
}

// Manifest describes one complete backup. Its JSON form is stored as backups/<id>/manifest.json and is
// a contract: restore tools and operators read it.
type Manifest struct {
	FormatVersion int               `json:"format_version"`
	ID            string            `json:"id"`
	Kind          Kind              `json:"kind"`
	Database      string            `json:"database"`
	ServerVersion string            `json:"server_version"`
	ToolVersion   string            `json:"tool_version"`   // pg_dump / influxd version
	QuantxVersion string            `json:"quantx_version"` // quantx-db that wrote it
	StartedAt     time.Time         `json:"started_at"`
	FinishedAt    time.Time         `json:"finished_at"`
	Format        string            `json:"format"`     // how to read the main object
	Key           string            `json:"key"`        // main object, relative to the prefix
	Size          int64             `json:"size"`       // of the main object as stored
	SHA256        string            `json:"sha256"`     // of the main object as stored
	Encryption    string            `json:"encryption"` // "none" or "age"
	Recipients    []string          `json:"recipients"` // age public keys (not secret)
	Objects       []Object          `json:"objects"`    // every object of the backup, main first
	TableCounts   map[string]int64  `json:"table_counts,omitempty"`
	TableSums     map[string]string `json:"table_checksums,omitempty"`
	// Physical is set for kind physical only (pgBackRest backup sets, listed from the repository;
	// they have no manifest.json).
	Physical *PhysicalSet `json:"physical,omitempty"`
}

// Object is one stored object of a backup.
type Object struct {
	Role   string `json:"role"` // "dump", "globals", "influx"
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// BackupsPrefix is where backups live, relative to the store's prefix.
const BackupsPrefix = "backups/"

const (
	manifestFormat = 1
	backupsPrefix  = BackupsPrefix
	manifestName   = "manifest.json"
	encAge         = "age"
	encNone        = "none"
)

func folder(id string) string { return backupsPrefix + id + "/" }
