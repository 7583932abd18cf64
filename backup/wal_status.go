package backup

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/internal/s3store"
)

// WALStatusOptions tune WALStatus.
type WALStatusOptions struct {
	// DatabaseURL reaches the archiving server; "" connects through the socket and port that the
	// pgBackRest configuration names (pg1-socket-path, pg1-port) as the OS user.
	DatabaseURL string
	// MaxLag is the archive backlog (age of the oldest segment waiting for archive_command) past
	// which archiving counts as failing; 0 means 5 minutes.
	MaxLag time.Duration
	// ProbeTimeout bounds the repository probe; 0 means 5 s. pgBackRest itself retries an unreachable
	// repository for minutes, so the probe is done first, with this timeout, and pgBackRest is only
	// asked when the repository answered.
	ProbeTimeout time.Duration
}

// WALStatus is the health of WAL archiving, the newest physical backup and the recovery window.
// Ages are in seconds.
type WALStatus struct {
	CheckedAt  time.Time `json:"checked_at"`
	Stanza     string    `json:"stanza"`
	ConfigFile string    `json:"config_file"`

	ArchiveMode            string     `json:"archive_mode"`
	ArchiveCommand         string     `json:"archive_command"`
	ArchiveTimeoutSeconds  float64    `json:"archive_timeout_seconds"`
	CurrentWAL             string     `json:"current_wal"`
	LastArchivedWAL        string     `json:"last_archived_wal"`
	LastArchivedAt         *time.Time `json:"last_archived_at"`
	LastArchivedAgeSeconds *float64   `json:"last_archived_age_seconds"`
	ArchivedCount          int64      `json:"archived_count"`
	FailedCount            int64      `json:"failed_count"`
	LastFailedWAL          string     `json:"last_failed_wal"`
	LastFailedAt           *time.Time `json:"last_failed_at"`
	// LastFailure is the last ERROR line of pgBackRest's archive-push log (when readable).
	LastFailure string `json:"last_failure,omitempty"`
	// Failing: the most recent archive attempt failed (pg_stat_archiver's last failure is newer than
	// its last success).
	Failing bool `json:"failing"`
	// ReadySegments are completed segments waiting for archive_command; LagSeconds is the age of the
	// oldest of them (0 when none waits). Both are null when the role may not list
	// pg_wal/archive_status (it needs pg_monitor or superuser).
	ReadySegments *int     `json:"ready_segments"`
	LagSeconds    *float64 `json:"lag_seconds"`
	MaxLagSeconds float64  `json:"max_lag_seconds"`

	Repository   RepositoryProbe `json:"repository"`
	NewestBackup *NewestPhysical `json:"newest_backup"`
	Window       *RecoveryWindow `json:"recovery_window"`
	WindowError  report.Error    `json:"recovery_window_error,omitzero"`

	// Problems make archiving unhealthy, or, when one is
	// ErrArchiverUnreadable, leave its health unknown; Warnings do not.
	// A problem that comes from a failure keeps it: errors.Is and errors.As
	// reach the cause.
	Problems []report.Error `json:"problems"`
	Warnings []string       `json:"warnings"`
	OK       bool           `json:"ok"`
}

// RepositoryProbe is a direct, short check that the repository answers.
type RepositoryProbe struct {
	Location  string       `json:"location"` // s3://bucket/path at host:port
	Reachable bool         `json:"reachable"`
	Error     report.Error `json:"error,omitzero"`
	Seconds   float64      `json:"seconds"`
}

// NewestPhysical is the newest physical backup.
type NewestPhysical struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	FinishedAt time.Time `json:"finished_at"`
	AgeSeconds float64   `json:"age_seconds"`
}

// WALStatus reads pg_stat_archiver and the archive backlog from the server, probes the repository
// with a short timeout and, when it answers, reads the newest backup and the recovery window. It
// changes nothing. Failures to reach one part become Problems; an error is returned only when the
// configuration cannot be read.
func (p *Physical) WALStatus(ctx context.Context, o WALStatusOptions) (WALStatus, error) {
	if o.MaxLag == 0 {
		o.MaxLag = 5 * time.Minute
	}
	if o.ProbeTimeout == 0 {
		o.ProbeTimeout = 5 * time.Second
	}
	st := WALStatus{CheckedAt: p.o.Now().UTC(), Stanza: p.o.Stanza, ConfigFile: p.o.ConfigFile,
		MaxLagSeconds: o.MaxLag.Seconds(), Problems: []report.Error{}, Warnings: []string{}}
	cf, err := readConfigFile(p.o.ConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("%s: %w", p.o.ConfigFile, ErrNoConfig)
	}
	if err != nil {
		return st, fmt.Errorf("read pgBackRest configuration: %w", err)
	}
	if _, ok := cf[p.o.Stanza]; !ok {
		return st, fmt.Errorf("%s has no [%s] section: %w", p.o.ConfigFile, p.o.Stanza, ErrNoConfig)
	}

	p.serverStatus(ctx, cf, o, &st)

	st.Repository = probeRepository(ctx, cf, p.o.Stanza, o.ProbeTimeout)
	if !st.Repository.Reachable {
		st.Problems = append(st.Problems, report.Errorf("repository %s unreachable: %w", st.Repository.Location, st.Repository.Error))
	} else {
		p.repositoryStatus(ctx, &st)
	}
	st.OK = len(st.Problems) == 0
	return st, nil
}

// serverStatus fills the archiver's side from the server.
func (p *Physical) serverStatus(ctx context.Context, cf iniFile, o WALStatusOptions, st *WALStatus) {
	connStr := o.DatabaseURL
	if connStr == "" {
		port, _ := strconv.Atoi(cf.get(p.o.Stanza, "pg1-port"))
		if port == 0 {
			port = 5432
		}
		sock := cf.get(p.o.Stanza, "pg1-socket-path")
		if sock == "" {
			sock = "/var/run/postgresql"
		}
		connStr = postmaster{Port: port, SocketDir: sock}.connString("postgres")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, connStr)
	if err != nil {
		st.Problems = append(st.Problems, report.Errorf("%w: %w", ErrArchiverUnreadable, err))
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var now time.Time
	var timeout string
	var cur *string
	err = conn.QueryRow(cctx, `SELECT now(), current_setting('archive_mode'), current_setting('archive_command'),
		current_setting('archive_timeout'), CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END`).
		Scan(&now, &st.ArchiveMode, &st.ArchiveCommand, &timeout, &cur)
	if err != nil {
		st.Problems = append(st.Problems, report.Errorf("%w: %w", ErrArchiverUnreadable, err))
		return
	}
	if cur != nil {
		st.CurrentWAL = *cur
	}
	if n, err := strconv.Atoi(normSetting("archive_timeout", timeout)); err == nil {
		st.ArchiveTimeoutSeconds = float64(n)
	}
	var lastWAL, failedWAL *string
	err = conn.QueryRow(cctx, `SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time
		FROM pg_stat_archiver`).Scan(&st.ArchivedCount, &lastWAL, &st.LastArchivedAt, &st.FailedCount, &failedWAL, &st.LastFailedAt)
	if err != nil {
		st.Problems = append(st.Problems, report.Errorf("%w: pg_stat_archiver: %w", ErrArchiverUnreadable, err))
		return
	}
	if lastWAL != nil {
		st.LastArchivedWAL = *lastWAL
	}
	if failedWAL != nil {
		st.LastFailedWAL = *failedWAL
	}
	if st.LastArchivedAt != nil {
		t := st.LastArchivedAt.UTC()
		st.LastArchivedAt = &t
		age := now.Sub(t).Seconds()
		st.LastArchivedAgeSeconds = &age
	}
	if st.LastFailedAt != nil {
		t := st.LastFailedAt.UTC()
		st.LastFailedAt = &t
		st.Failing = st.LastArchivedAt == nil || t.After(*st.LastArchivedAt)
	}

	var ready int
	var oldest *time.Time
	err = conn.QueryRow(cctx, `SELECT count(*), min(modification) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`).Scan(&ready, &oldest)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42501" {
		st.Warnings = append(st.Warnings, "the role may not list pg_wal/archive_status: grant it pg_monitor to see the archive backlog")
	} else if err != nil {
		st.Problems = append(st.Problems, report.Errorf("%w: the archive backlog: %w", ErrArchiverUnreadable, err))
	} else {
		lag := 0.0
		if oldest != nil {
			lag = max(now.Sub(*oldest).Seconds(), 0)
		}
		st.ReadySegments, st.LagSeconds = &ready, &lag
	}

	switch {
	case st.ArchiveMode == "off":
		st.Problems = append(st.Problems, report.Error{Err: ErrArchivingOff})
	case !strings.Contains(st.ArchiveCommand, "--stanza="+p.o.Stanza) || !strings.Contains(st.ArchiveCommand, "archive-push"):
		st.Problems = append(st.Problems, report.Errorf("archive_command %q does not push to pgBackRest stanza %s", st.ArchiveCommand, p.o.Stanza))
	}
	if st.Failing {
		st.LastFailure = lastLogError(filepath.Join(logPath(cf), p.o.Stanza+"-archive-push.log"))
		msg := fmt.Sprintf("%d failure(s), last %s at %s", st.FailedCount, st.LastFailedWAL, st.LastFailedAt.Format(time.RFC3339))
		if st.LastFailure != "" {
			msg += ": " + st.LastFailure
		}
		st.Problems = append(st.Problems, report.Errorf("%w: %s", ErrArchivingFails, msg))
	}
	if st.LagSeconds != nil && *st.LagSeconds > o.MaxLag.Seconds() {
		st.Problems = append(st.Problems, report.Errorf("archiving lags %s behind (max %s): %d segment(s) waiting",
			time.Duration(*st.LagSeconds*float64(time.Second)).Round(time.Second), o.MaxLag, *st.ReadySegments))
	}
}

// repositoryStatus reads the newest backup and the recovery window through pgBackRest.
func (p *Physical) repositoryStatus(ctx context.Context, st *WALStatus) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	si, err := p.info(cctx)
	if err == nil {
		err = si.usable()
	}
	if err != nil {
		st.Problems = append(st.Problems, report.Error{Err: err})
		return
	}
	sets := si.sets()
	if len(sets) == 0 {
		st.Warnings = append(st.Warnings, "no physical backup yet: archived WAL alone cannot be restored")
		return
	}
	newest := sets[len(sets)-1]
	fin := time.Unix(newest.Timestamp.Stop, 0).UTC()
	st.NewestBackup = &NewestPhysical{ID: newest.Label, Type: newest.Type, FinishedAt: fin, AgeSeconds: p.o.Now().Sub(fin).Seconds()}
	w, err := p.window(cctx, si)
	if err != nil {
		st.WindowError = report.Error{Err: err}
		st.Warnings = append(st.Warnings, "recovery window: "+err.Error())
	}
	st.Window = &w
}

func logPath(cf iniFile) string {
	if p := cf.get("global", "log-path"); p != "" {
		return p
	}
	return "/var/log/pgbackrest"
}

// lastLogError returns the message of the last ERROR line of a pgBackRest log, or "".
func lastLogError(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 256<<10 {
		f.Seek(st.Size()-256<<10, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	errs := pgbackrestErrors(string(b))
	if len(errs) == 0 {
		return ""
	}
	return errs[len(errs)-1]
}

// probeRepository checks, within timeout, that the repository answers and holds the stanza's
// archive.info. For an S3 repository it talks to S3 itself (pgBackRest would retry for minutes).
func probeRepository(ctx context.Context, cf iniFile, stanza string, timeout time.Duration) RepositoryProbe {
	start := time.Now()
	host, port := cf.get("global", "repo1-s3-endpoint"), cf.get("global", "repo1-storage-port")
	if port == "" {
		port = "443"
	}
	repoPath := cf.get("global", "repo1-path")
	if repoPath == "" {
		repoPath = "/var/lib/pgbackrest"
	}
	pr := RepositoryProbe{Location: fmt.Sprintf("s3://%s%s at %s", cf.get("global", "repo1-s3-bucket"), repoPath, net.JoinHostPort(host, port))}
	if t := cf.get("global", "repo1-type"); t != "s3" {
		pr.Location = t + " " + repoPath
		pr.Reachable = true // not probed: only S3 repositories are; pgBackRest's info reports the rest
		return pr
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg := s3store.Config{Endpoint: net.JoinHostPort(host, port), AccessKey: cf.get("global", "repo1-s3-key"),
		SecretKey: cf.get("global", "repo1-s3-key-secret"), Bucket: cf.get("global", "repo1-s3-bucket"), TLS: true,
		Prefix: repoPath, Region: cf.get("global", "repo1-s3-region"), CAFile: cf.get("global", "repo1-storage-ca-file"),
		PathStyle: cf.get("global", "repo1-s3-uri-style") == "path", MaxRetries: 1}
	if v := cf.get("global", "repo1-storage-verify-tls"); v == "n" || v == "false" {
		cfg.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // as the configuration says
	}
	store, err := s3store.New(cctx, cfg)
	if err == nil {
		_, err = store.Stat(cctx, "archive/"+stanza+"/archive.info")
	}
	pr.Seconds = time.Since(start).Seconds()
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		pr.Error = report.Error{Err: err}
		return pr
	}
	pr.Reachable = true
	return pr
}
