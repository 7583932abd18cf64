package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/report"
)

// PITROptions say what to restore, where, and what to do with it afterwards.
type PITROptions struct {
	// PGData is the directory to restore into: missing (it is created, mode 0700) or empty.
	PGData string
	// Target is the time to stop at (the restored cluster has every transaction committed at or
	// before it, and none after). Zero with Latest: replay every archived WAL segment.
	Target time.Time
	Latest bool
	// Start starts the restored server on Port (and SocketDir when set, else the configuration's
	// socket folder) and waits until recovery has finished and it was promoted.
	Start     bool
	Port      int
	SocketDir string
	// Verify (with Start) checks that the restored server reached the target, reads every table of
	// every database (row counts in the result) and checks the migration version.
	Verify bool
	// KnownMigrations are the migration versions this quantx-db knows; a restored version outside
	// them (or dirty) fails Verify. Empty skips that check.
	KnownMigrations []int64
	// KeepArchiving lets the restored copy archive into the source's repository. Off by default:
	// a promoted copy starts a new timeline, and its WAL in the same repository confuses later
	// restores of the source (pgBackRest --archive-mode=off).
	KeepArchiving bool
}

// PITRResult reports a point-in-time restore.
type PITRResult struct {
	Stanza     string         `json:"stanza"`
	Backup     string         `json:"backup"` // the backup set restored
	PGData     string         `json:"pgdata"`
	Target     string         `json:"target"` // "time" or "latest"
	TargetTime *time.Time     `json:"target_time,omitempty"`
	Window     RecoveryWindow `json:"recovery_window"`
	Archiving  string         `json:"archiving"` // "off" or "preserved" on the restored copy
	RestoreMS  int64          `json:"restore_ms"`
	Started    bool           `json:"started"`
	Port       int            `json:"port,omitempty"`
	SocketDir  string         `json:"socket_dir,omitempty"`
	LogFile    string         `json:"log_file,omitempty"`
	RecoveryMS int64          `json:"recovery_ms,omitempty"` // from start to the end of recovery
	Verify     *PITRCheck     `json:"verify,omitempty"`
}

// PITRCheck is what Verify found on the restored server.
type PITRCheck struct {
	OK               bool           `json:"ok"`
	RecoveryFinished bool           `json:"recovery_finished"`
	LastReplayed     *time.Time     `json:"last_replayed_commit"` // pg_last_xact_replay_timestamp()
	Databases        []DBCheck      `json:"databases"`
	Problems         []report.Error `json:"problems"`
}

// DBCheck is one restored database: every table read, and its migration version.
type DBCheck struct {
	Name             string      `json:"name"`
	Tables           []TableRows `json:"tables"`
	MigrationVersion *int64      `json:"migration_version"` // null: no schema_migrations table
	MigrationDirty   bool        `json:"migration_dirty"`
}

// TableRows is a table and its row count, read with a sequential scan.
type TableRows struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// restoreTimeLayout is what pgBackRest accepts for --target (it selects the backup set by it) and
// passes on to recovery_target_time: microseconds and an explicit UTC offset.
const restoreTimeLayout = "2006-01-02 15:04:05.999999"

// Window returns the recovery window of the stanza (RecoveryWindow).
func (p *Physical) Window(ctx context.Context) (RecoveryWindow, error) {
	si, err := p.info(ctx)
	if err != nil {
		return RecoveryWindow{}, err
	}
	if err := si.usable(); err != nil {
		return RecoveryWindow{}, err
	}
	return p.window(ctx, si)
}

func (p *Physical) window(ctx context.Context, si stanzaInfo) (RecoveryWindow, error) {
	w := earliestWindow(si)
	if w.Earliest == nil {
		return w, nil
	}
	binDir, err := p.binDirFor(ctx, si)
	if err != nil {
		return w, err
	}
	return w, p.scanLatest(ctx, si, binDir, &w)
}

// earliestWindow is the window's start, from the backups alone (Latest left unknown).
func earliestWindow(si stanzaInfo) RecoveryWindow {
	sets := si.sets()
	if len(sets) == 0 {
		return RecoveryWindow{}
	}
	oldest := sets[0].Timestamp.Stop
	for _, b := range sets {
		oldest = min(oldest, b.Timestamp.Stop)
	}
	// pgBackRest's stop time has whole seconds and is taken after the backup became consistent:
	// one second later is safely past the consistency point.
	earliest := time.Unix(oldest+1, 0).UTC()
	return RecoveryWindow{Earliest: &earliest}
}

// scanLatest sets w's end from the last commit in the archived WAL.
func (p *Physical) scanLatest(ctx context.Context, si stanzaInfo, binDir string, w *RecoveryWindow) error {
	_, newest := si.archiveRange()
	last, found, err := p.lastArchivedCommit(ctx, newest, binDir)
	if err != nil {
		return err
	}
	if found {
		w.Latest, w.LatestLSN = &last.Time, FormatLSN(last.LSN)
	}
	return nil
}

// binDirFor finds the server binaries of the stanza's PostgreSQL major version.
func (p *Physical) binDirFor(ctx context.Context, si stanzaInfo) (string, error) {
	major, err := strconv.Atoi(si.dbVersion())
	if err != nil {
		return "", fmt.Errorf("stanza %s: PostgreSQL version %q: %w", si.Name, si.dbVersion(), err)
	}
	return pgBinDir(ctx, p.o.PGBinDir, major, 0)
}

// RestorePITR restores the stanza into an empty directory, stopping at o.Target (or replaying all
// archived WAL with o.Latest) and promoting. The target is checked against the recovery window
// first, so a restore that cannot reach it fails in seconds with a *WindowError instead of after
// copying the whole cluster.
func (p *Physical) RestorePITR(ctx context.Context, o PITROptions) (PITRResult, error) {
	pgdata, err := filepath.Abs(o.PGData)
	if err != nil {
		return PITRResult{}, err
	}
	res := PITRResult{Stanza: p.o.Stanza, PGData: pgdata, Target: "latest", Archiving: "off"}
	if o.KeepArchiving {
		res.Archiving = "preserved"
	}
	if !o.Latest {
		t := o.Target.UTC()
		res.Target, res.TargetTime = "time", &t
	}
	if err := checkEmptyDir(pgdata); err != nil {
		return res, err
	}
	si, err := p.info(ctx)
	if err != nil {
		return res, fmt.Errorf("restore pitr: %w", err)
	}
	if err := si.usable(); err != nil {
		return res, fmt.Errorf("restore pitr: %w", err)
	}
	sets := si.sets()
	if len(sets) == 0 {
		return res, fmt.Errorf("restore pitr: stanza %s: %w", p.o.Stanza, ErrNoPhysicalBackup)
	}
	binDir, err := p.binDirFor(ctx, si)
	if err != nil {
		return res, fmt.Errorf("restore pitr: %w", err)
	}
	// The window's start comes from the backups; a target before it fails at once (with the whole
	// window in the message). Its end needs a scan of the newest archived WAL (a second or so),
	// which runs beside the copy: a target past it stops the copy and removes what was copied.
	res.Window = earliestWindow(si)
	if !o.Latest && o.Target.Before(*res.Window.Earliest) {
		_ = p.scanLatest(ctx, si, binDir, &res.Window)
		return res, &WindowError{Target: o.Target, Window: res.Window}
	}
	// The backup set: the newest one for --latest; for a time, the newest one consistent before it.
	set := sets[len(sets)-1]
	if !o.Latest {
		found := false
		for _, b := range sets {
			consistent := !time.Unix(b.Timestamp.Stop+1, 0).After(o.Target)
			if consistent && (!found || b.Timestamp.Stop > set.Timestamp.Stop) {
				set, found = b, true
			}
		}
	}
	res.Backup = set.Label

	_, statErr := os.Stat(pgdata)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(pgdata, 0o700); err != nil {
		return res, fmt.Errorf("restore pitr: %w", err)
	}
	args := []string{"--pg1-path=" + pgdata, "restore", "--set=" + set.Label}
	if o.Latest {
		args = append(args, "--type=default")
	} else {
		args = append(args, "--type=time", "--target="+o.Target.UTC().Format(restoreTimeLayout)+"+00", "--target-action=promote")
	}
	if !o.KeepArchiving {
		args = append(args, "--archive-mode=off")
	}
	start := time.Now()
	copyCtx, stopCopy := context.WithCancel(ctx)
	defer stopCopy()
	copied := make(chan error, 1)
	go func() { _, err := p.run(copyCtx, args...); copied <- err }()
	scanErr := p.scanLatest(ctx, si, binDir, &res.Window)
	if scanErr != nil {
		// Not fatal: PostgreSQL itself refuses a target it cannot reach (startRestored reports it).
		p.log.WarnContext(ctx, "recovery window end unknown", "error", scanErr)
	}
	if !o.Latest && res.Window.Latest != nil && !res.Window.Contains(o.Target) {
		stopCopy()
		<-copied
		discard(pgdata, created)
		return res, &WindowError{Target: o.Target, Window: res.Window}
	}
	if err := <-copied; err != nil {
		return res, fmt.Errorf("restore pitr: %w", err)
	}
	res.RestoreMS = time.Since(start).Milliseconds()
	p.log.InfoContext(ctx, "restored", "backup", set.Label, "pgdata", pgdata, "duration", time.Since(start).Round(time.Millisecond))
	if !o.Start {
		return res, nil
	}

	start = time.Now()
	pm, err := startRestored(ctx, binDir, pgdata, o.Port, o.SocketDir)
	res.LogFile = filepath.Join(pgdata, restoreLogName)
	if err != nil {
		return res, fmt.Errorf("restore pitr: %w", err)
	}
	res.Started, res.Port, res.SocketDir = true, pm.Port, pm.SocketDir
	res.RecoveryMS = time.Since(start).Milliseconds()
	if o.Verify {
		chk, err := verifyRestored(ctx, pm, res, o.KnownMigrations)
		if err != nil {
			return res, fmt.Errorf("restore pitr: verify: %w", err)
		}
		res.Verify = &chk
	}
	return res, nil
}

// checkEmptyDir refuses a directory with anything in it (a missing one is fine).
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Dir(dir)); err != nil {
			return fmt.Errorf("restore pitr: parent of %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore pitr: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore pitr: %s holds %d entries: %w", dir, len(entries), ErrTargetDirInUse)
	}
	return nil
}

// discard removes what a stopped restore copied: the directory when RestorePITR created it, else
// its content (it was empty before).
func discard(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// restoreLogName is the server log of a restored copy started by RestorePITR, in its data directory.
const restoreLogName = "quantx-restore.log"

// startRestored starts the restored cluster with pg_ctl (without waiting: recovery may take longer
// than any fixed timeout) and waits until it has left recovery, watching the postmaster: when it
// exits, the last FATAL line of its log is the error.
func startRestored(ctx context.Context, binDir, pgdata string, port int, socketDir string) (postmaster, error) {
	if err := ensureConfFiles(pgdata); err != nil {
		return postmaster{}, err
	}
	opts := "-p " + strconv.Itoa(port)
	if socketDir != "" {
		opts += " -k " + archiveQuote(socketDir)
	}
	logFile := filepath.Join(pgdata, restoreLogName)
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "pg_ctl"), "-D", pgdata, "-l", logFile, "-W", "-o", opts, "start").CombinedOutput()
	if err != nil {
		return postmaster{}, fmt.Errorf("pg_ctl start: %w: %s", err, strings.TrimSpace(string(out)))
	}
	var pm postmaster
	appeared := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return pm, err
		}
		pm, err = readPostmaster(pgdata)
		if err != nil {
			// postgres writes postmaster.pid at once; if it never appears (or its process is gone), the
			// server stopped: the log says why.
			if time.Since(appeared) > 5*time.Second || logHasFatal(logFile) {
				return pm, fmt.Errorf("%w: %s (log %s)", ErrRestoredStopped, lastFatal(logFile), logFile)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		appeared = time.Now()
		done, err := recoveryFinished(ctx, pm)
		if err == nil && done {
			return pm, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ensureConfFiles writes a minimal postgresql.conf / pg_hba.conf when the source kept its
// configuration outside the data directory (Debian keeps it in /etc/postgresql), so the copy starts.
func ensureConfFiles(pgdata string) error {
	files := map[string]string{
		"postgresql.conf": "# written by quantx-db restore pitr: the backup had no postgresql.conf\n",
		"pg_hba.conf":     "# written by quantx-db restore pitr: the backup had no pg_hba.conf\nlocal all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n",
		"pg_ident.conf":   "",
	}
	for name, body := range files {
		p := filepath.Join(pgdata, name)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

func recoveryFinished(ctx context.Context, pm postmaster) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, pm.connString("postgres"))
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var inRecovery bool
	if err := conn.QueryRow(cctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return false, err
	}
	return !inRecovery, nil
}

func logHasFatal(logFile string) bool { return lastFatal(logFile) != "" }

// lastFatal returns the last FATAL or PANIC line of a server log.
func lastFatal(logFile string) string {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "FATAL:") || strings.Contains(lines[i], "PANIC:") {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

// verifyRestored checks the restored server: recovery over, the last replayed commit on the right
// side of the target, every table readable, the migration version known and clean.
func verifyRestored(ctx context.Context, pm postmaster, res PITRResult, known []int64) (PITRCheck, error) {
	chk := PITRCheck{Databases: []DBCheck{}, Problems: []report.Error{}}
	conn, err := pgx.Connect(ctx, pm.connString("postgres"))
	if err != nil {
		return chk, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var inRecovery bool
	var last *time.Time
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()").Scan(&inRecovery, &last); err != nil {
		return chk, err
	}
	chk.RecoveryFinished = !inRecovery
	if last != nil {
		t := last.UTC()
		chk.LastReplayed = &t
	}
	if inRecovery {
		chk.Problems = append(chk.Problems, report.Errorf("the server is still in recovery"))
	}
	switch {
	case res.TargetTime != nil && chk.LastReplayed != nil && chk.LastReplayed.After(*res.TargetTime):
		chk.Problems = append(chk.Problems, report.Errorf("last replayed commit %s is after the target %s",
			chk.LastReplayed.Format(time.RFC3339Nano), res.TargetTime.Format(time.RFC3339Nano)))
	case res.TargetTime == nil && res.Window.LatestLSN != "":
		// --latest: recovery must have ended past the last archived commit (the new timeline's
		// history file records where it branched off).
		end, err := timelineSwitch(res.PGData)
		want, _ := ParseLSN(res.Window.LatestLSN)
		switch {
		case err != nil:
			chk.Problems = append(chk.Problems, report.Errorf("end of recovery: %w", err))
		case end <= want:
			chk.Problems = append(chk.Problems, report.Errorf("recovery ended at %s, before the last archived commit at %s: archived WAL was not replayed",
				FormatLSN(end), res.Window.LatestLSN))
		}
	}
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname`)
	if err != nil {
		return chk, err
	}
	dbs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return chk, err
	}
	for _, db := range dbs {
		dc, problems, err := checkDatabase(ctx, pm, db, known)
		if err != nil {
			chk.Problems = append(chk.Problems, report.Errorf("database %s: %w", db, err))
			continue
		}
		chk.Databases = append(chk.Databases, dc)
		chk.Problems = append(chk.Problems, problems...)
	}
	chk.OK = len(chk.Problems) == 0
	return chk, nil
}

// timelineSwitch returns the LSN where the restored cluster's newest timeline branched off, from
// the last line of its pg_wal/<timeline>.history ("1	0/40160A8	no recovery target specified").
func timelineSwitch(pgdata string) (uint64, error) {
	files, err := filepath.Glob(filepath.Join(pgdata, "pg_wal", "*.history"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no timeline history in %s/pg_wal (was the copy promoted?)", pgdata)
	}
	sort.Strings(files) // 8 hex digits: name order is timeline order
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(fields) < 2 {
		return 0, fmt.Errorf("%s: unreadable last line %q", files[len(files)-1], lines[len(lines)-1])
	}
	return ParseLSN(fields[1])
}

// checkDatabase counts the rows of every user table (a sequential read of all of them) and reads the
// golang-migrate version table when there is one.
func checkDatabase(ctx context.Context, pm postmaster, db string, known []int64) (DBCheck, []report.Error, error) {
	dc := DBCheck{Name: db, Tables: []TableRows{}}
	conn, err := pgx.Connect(ctx, pm.connString(db))
	if err != nil {
		return dc, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := userTables(ctx, conn)
	if err != nil {
		return dc, nil, err
	}
	var problems []report.Error
	for _, t := range tables {
		var n int64
		// A plain count(*) reads every page of the table: a missing or damaged file fails here.
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			problems = append(problems, report.Errorf("database %s table %s: %w", db, t, err))
			continue
		}
		dc.Tables = append(dc.Tables, TableRows{Table: t, Rows: n})
	}
	var hasTable bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('public.schema_migrations') IS NOT NULL`).Scan(&hasTable); err != nil {
		return dc, problems, err
	}
	if hasTable {
		var v int64
		var dirty bool
		err := conn.QueryRow(ctx, `SELECT version, dirty FROM public.schema_migrations LIMIT 1`).Scan(&v, &dirty)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			problems = append(problems, report.Errorf("database %s: schema_migrations: %w", db, err))
		default:
			dc.MigrationVersion, dc.MigrationDirty = &v, dirty
			if dirty {
				problems = append(problems, report.Errorf("database %s: migration version %d is dirty", db, v))
			}
			if len(known) > 0 && !containsInt(known, v) {
				problems = append(problems, report.Errorf("database %s: migration version %d is not one this release knows", db, v))
			}
		}
	}
	return dc, problems, nil
}

func containsInt(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
