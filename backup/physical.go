package backup

// Physical backups and point-in-time recovery run on pgBackRest: quantx-db writes its configuration
// (Setup), runs it and reads `pgbackrest info --output=json`, and adds what pgBackRest lacks: one set
// of settings shared with the logical backups, a status with a recovery window, restores that are
// checked before they start and verified after, and pruning with the same keep rules as the logical
// backups. The repository is the logical backups' bucket under <prefix>pgbackrest/, and the file
// quantx-db writes is a plain pgbackrest.conf: in a disaster a DBA can restore with pgBackRest alone.
//
// pgBackRest must run as the operating-system user that owns the data directory (it reads the data
// files, and the archive_command it installs runs as that user). Running it as root leaves root-owned
// lock and log files that break the next archive_command; callers refuse root (CheckOwner).

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"time"
)

// KindPhysical is a pgBackRest backup set (full, diff or incr) in the catalogue's listings.
const KindPhysical Kind = "physical"

// Sentinel errors of physical backups and PITR.
var (
	ErrRunAsRoot        = errors.New("pgBackRest must not run as root")
	ErrNotOwner         = errors.New("not the owner of the data directory")
	ErrNoPhysicalBackup = errors.New("no physical backup in the repository")
	ErrOutsideWindow    = errors.New("target is outside the recovery window")
	ErrTargetDirInUse   = errors.New("target directory is not empty")
	ErrServerNotRunning = errors.New("PostgreSQL is not running on the data directory")
	ErrNotSuperuser     = errors.New("the role is not a superuser")
	ErrNoConfig         = errors.New("no pgBackRest configuration")
	ErrPlainS3          = errors.New("pgBackRest talks to S3 over TLS only")
	ErrRestoredStopped  = errors.New("the restored server stopped")
	ErrCommandLineGUC   = errors.New("setting fixed on the server's command line")
	// WALStatus problems.
	ErrArchivingOff   = errors.New("archive_mode is off: no WAL is archived")
	ErrArchivingFails = errors.New("archiving fails")
	// ErrArchiverUnreadable: the server could not be asked about its archiver
	// (not reachable, or a query failed). Nothing is known about archiving
	// then, which is not the same finding as archiving that fails.
	ErrArchiverUnreadable = errors.New("cannot read the archiver")
)

// PhysicalOptions configure a Physical. ConfigFile and Stanza are required.
type PhysicalOptions struct {
	ConfigFile string // the pgBackRest configuration Setup writes and every command reads
	Stanza     string
	// PgBackRest is the pgbackrest executable; "" finds it on PATH.
	PgBackRest string
	// PGBinDir holds the server's own binaries (pg_ctl, pg_waldump) of the cluster's major version;
	// "" finds them (the running postmaster's folder, then /usr/lib/postgresql/<major>/bin, ...).
	PGBinDir string
	Logger   *slog.Logger     // nil discards
	Now      func() time.Time // nil is time.Now
}

// Physical runs pgBackRest for one stanza and configuration file.
type Physical struct {
	o   PhysicalOptions
	log *slog.Logger
}

// NewPhysical returns a Physical. It touches nothing until a method is called.
func NewPhysical(o PhysicalOptions) *Physical {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Physical{o: o, log: o.Logger}
}

// ConfigFile returns the pgBackRest configuration file.
func (p *Physical) ConfigFile() string { return p.o.ConfigFile }

// Configured reports whether the pgBackRest configuration file exists: physical
// backups are set up on this host (listings and status include them only then).
func (p *Physical) Configured() bool {
	_, err := os.Stat(p.o.ConfigFile)
	return !errors.Is(err, fs.ErrNotExist)
}

// Stanza returns the stanza.
func (p *Physical) Stanza() string { return p.o.Stanza }

// bin returns the pgbackrest executable.
func (p *Physical) bin() (string, error) {
	if p.o.PgBackRest != "" {
		return p.o.PgBackRest, nil
	}
	path, err := exec.LookPath("pgbackrest")
	if err != nil {
		return "", errors.Join(errors.New("pgbackrest is not on PATH (apt-get install pgbackrest)"), ErrToolMissing)
	}
	return path, nil
}

// PhysicalSet is what a physical backup adds to its Manifest in listings: pgBackRest's own view.
type PhysicalSet struct {
	Type      string   `json:"type"`      // full, diff or incr
	Stanza    string   `json:"stanza"`    //
	WALStart  string   `json:"wal_start"` // first WAL segment the backup needs
	WALStop   string   `json:"wal_stop"`  // last WAL segment the backup needs (consistent from here)
	LSNStart  string   `json:"lsn_start"`
	LSNStop   string   `json:"lsn_stop"`
	Prior     string   `json:"prior,omitempty"` // the backup a diff or incr is taken against
	Reference []string `json:"reference"`       // every backup whose files this one uses
	// DatabaseSize is the size of the cluster's files; Size in the Manifest is what this set stored
	// in the repository (after compression, without the files it references).
	DatabaseSize int64  `json:"database_size"`
	RepoPath     string `json:"repo_path"` // where the set lives in the repository
}

// RecoveryWindow is the span of times a point-in-time restore can reach: from just after the oldest
// backup became consistent to the last commit in the archived WAL (a time target needs a later commit
// in the archive, or PostgreSQL stops with "recovery ended before configured recovery target was
// reached"). Latest is null when no commit was found in the newest archived segments.
type RecoveryWindow struct {
	Earliest *time.Time `json:"earliest"`
	Latest   *time.Time `json:"latest"`
	// LatestLSN is where the last archived commit record starts: a --latest restore must end
	// recovery past it.
	LatestLSN string `json:"latest_lsn,omitempty"`
}

// Contains reports whether t can be a --target-time: Earliest <= t < Latest (a nil end is open).
func (w RecoveryWindow) Contains(t time.Time) bool {
	if w.Earliest == nil || t.Before(*w.Earliest) {
		return false
	}
	return w.Latest == nil || t.Before(*w.Latest)
}

// String is "2026-11-30T09:00:27Z to 2026-11-30T10:14:03.123456Z".
func (w RecoveryWindow) String() string {
	f := func(t *time.Time) string {
		if t == nil {
			return "unknown"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	if w.Earliest == nil {
		return "empty (no backup)"
	}
	return f(w.Earliest) + " to " + f(w.Latest)
}

// WindowError is a target outside the recovery window.
type WindowError struct {
	Target time.Time
	Window RecoveryWindow
}

func (e *WindowError) Error() string {
	return "target " + e.Target.UTC().Format(time.RFC3339Nano) + " is outside the recovery window " + e.Window.String()
}

// Unwrap returns ErrOutsideWindow.
func (e *WindowError) Unwrap() error { return ErrOutsideWindow }
