package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SetupOptions say how to archive one cluster's WAL with pgBackRest.
type SetupOptions struct {
	PGData string     // the cluster's data directory; the server must be running
	Repo   RepoConfig // where backups and WAL go
	// ArchiveTimeout forces a WAL segment switch after this long when there was activity, which
	// bounds how much committed work an archive can miss; 0 means 60s.
	ArchiveTimeout time.Duration
	// DatabaseURL connects as a superuser; "" connects through the socket in postmaster.pid as the
	// OS user (how the data directory's owner reaches a local cluster).
	DatabaseURL string
	// LogPath, LockPath and SpoolPath are pgBackRest's folders; "" keeps its defaults.
	LogPath, LockPath, SpoolPath string
	// Options are extra [global] pgBackRest options (process-max, compress-type, io-timeout, ...).
	Options map[string]string
}

// SettingChange is one PostgreSQL setting Setup manages.
type SettingChange struct {
	Name    string `json:"name"`
	Was     string `json:"was"`  // as configured before (files, including postgresql.auto.conf)
	Want    string `json:"want"` // what Setup configured
	Changed bool   `json:"changed"`
	// RestartRequired: configured, but a postmaster-level setting (wal_level, archive_mode) that the
	// running server only picks up after a restart.
	RestartRequired bool `json:"restart_required"`
}

// SetupResult reports what Setup found and did.
type SetupResult struct {
	PGData          string          `json:"pgdata"`
	ConfigFile      string          `json:"config_file"`
	ConfigChanged   bool            `json:"config_changed"`
	Stanza          string          `json:"stanza"`
	StanzaCreated   bool            `json:"stanza_created"`
	Repository      string          `json:"repository"` // s3://bucket/path at endpoint
	Encrypted       bool            `json:"encrypted"`
	ArchiveCommand  string          `json:"archive_command"`
	Settings        []SettingChange `json:"settings"`
	RestartRequired bool            `json:"restart_required"`
	// Checked: `pgbackrest check` passed (a WAL switch archived end to end). It runs only when
	// archiving is in effect, i.e. not while a restart is pending.
	Checked bool `json:"checked"`
	Changed bool `json:"changed"` // anything written: configuration file, a setting, the stanza
}

// Setup writes the pgBackRest configuration (0600: it holds the S3 secret), configures wal_level,
// archive_mode, archive_command and archive_timeout with ALTER SYSTEM, creates the stanza and, when
// archiving is in effect, runs `pgbackrest check`. It is idempotent: a second run with the same
// settings writes nothing and reports Changed false. archive_mode and wal_level need a restart,
// which Setup never does itself; RestartRequired says so until someone restarts the server.
func (p *Physical) Setup(ctx context.Context, o SetupOptions) (SetupResult, error) {
	pgdata, err := filepath.Abs(o.PGData)
	if err != nil {
		return SetupResult{}, err
	}
	res := SetupResult{PGData: pgdata, ConfigFile: p.o.ConfigFile, Stanza: p.o.Stanza, Settings: []SettingChange{},
		Repository: fmt.Sprintf("s3://%s%s at %s", o.Repo.Bucket, o.Repo.Path(), o.Repo.Endpoint), Encrypted: o.Repo.CipherPass != ""}
	if _, err := dataMajor(pgdata); err != nil {
		return res, err
	}
	pm, err := readPostmaster(pgdata)
	if err != nil {
		return res, fmt.Errorf("wal setup: %w", err)
	}
	bin, err := p.bin()
	if err != nil {
		return res, err
	}
	connStr := o.DatabaseURL
	if connStr == "" {
		connStr = pm.connString("postgres")
	}
	conn, err := pgx.Connect(ctx, connStr)
	if err != nil {
		return res, fmt.Errorf("wal setup: connect to the server of %s: %w", pgdata, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkServes(ctx, conn, pgdata); err != nil {
		return res, err
	}

	// 1. The configuration file, first: archive_command names it.
	cf := ConfigFile{Repo: o.Repo, Stanza: p.o.Stanza, PGData: pgdata, PGPort: pm.Port, PGSocketDir: pm.SocketDir,
		LogPath: o.LogPath, LockPath: o.LockPath, SpoolPath: o.SpoolPath, Options: o.Options}
	body, err := cf.Render()
	if err != nil {
		return res, fmt.Errorf("wal setup: %w", err)
	}
	if res.ConfigChanged, err = writeIfChanged(p.o.ConfigFile, body); err != nil {
		return res, fmt.Errorf("wal setup: %w", err)
	}
	for _, dir := range []string{o.LogPath, o.LockPath, o.SpoolPath} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return res, fmt.Errorf("wal setup: %w", err)
			}
		}
	}

	// 2. The server's settings.
	timeout := o.ArchiveTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	// --log-level-file=warn: pgBackRest keeps no file log of archive-push otherwise (its errors only
	// reach PostgreSQL's log), and 'wal status' quotes the last error from that file.
	res.ArchiveCommand = fmt.Sprintf("%s --config=%s --stanza=%s --log-level-file=warn archive-push %%p",
		archiveQuote(bin), archiveQuote(p.o.ConfigFile), archiveQuote(p.o.Stanza))
	if res.Settings, err = applySettings(ctx, conn, map[string]string{
		"archive_command": res.ArchiveCommand,
		"archive_timeout": strconv.Itoa(int(timeout.Round(time.Second) / time.Second)),
	}); err != nil {
		return res, fmt.Errorf("wal setup: %w", err)
	}
	for _, s := range res.Settings {
		res.Changed = res.Changed || s.Changed
		res.RestartRequired = res.RestartRequired || s.RestartRequired
	}

	// 3. The stanza: created once; an existing one is checked against this cluster by pgBackRest.
	si, err := p.info(ctx)
	if err != nil {
		return res, fmt.Errorf("wal setup: %w", err)
	}
	switch si.Status.Code {
	case infoMissingStanza, infoMissingData:
		if _, err := p.run(ctx, "stanza-create"); err != nil {
			return res, fmt.Errorf("wal setup: %w", err)
		}
		res.StanzaCreated = true
		p.log.InfoContext(ctx, "stanza created", "stanza", p.o.Stanza)
	case infoOK, infoNoBackup, infoBackupRunning:
		// stanza-create on an existing stanza verifies it matches this cluster (system id, version).
		if _, err := p.run(ctx, "stanza-create"); err != nil {
			return res, fmt.Errorf("wal setup: %w", err)
		}
	default:
		return res, fmt.Errorf("wal setup: %w", si.usable())
	}
	res.Changed = res.Changed || res.ConfigChanged || res.StanzaCreated

	// 4. End to end: a WAL switch must reach the repository.
	if !res.RestartRequired {
		if _, err := p.run(ctx, "check"); err != nil {
			return res, fmt.Errorf("wal setup: %w", err)
		}
		res.Checked = true
	}
	return res, nil
}

// checkServes makes sure the connection reaches the server of pgdata, and as a superuser: ALTER
// SYSTEM on another server would archive the wrong cluster.
func checkServes(ctx context.Context, conn *pgx.Conn, pgdata string) error {
	var dataDir string
	var super bool
	if err := conn.QueryRow(ctx, `SELECT current_setting('is_superuser') = 'on'`).Scan(&super); err != nil {
		return fmt.Errorf("wal setup: %w", err)
	}
	if !super {
		return fmt.Errorf("wal setup: ALTER SYSTEM needs a superuser: %w", ErrNotSuperuser)
	}
	if err := conn.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir); err != nil {
		return fmt.Errorf("wal setup: %w", err)
	}
	a, errA := filepath.EvalSymlinks(dataDir)
	b, errB := filepath.EvalSymlinks(pgdata)
	if errA != nil || errB != nil || a != b {
		return fmt.Errorf("wal setup: the server connected to serves %s, not %s", dataDir, pgdata)
	}
	return nil
}

// applySettings configures wal_level and archive_mode (keeping stronger values: logical, always)
// and the given sighup settings, with ALTER SYSTEM and a reload.
func applySettings(ctx context.Context, conn *pgx.Conn, sighup map[string]string) ([]SettingChange, error) {
	rows, err := conn.Query(ctx, `
SELECT s.name, s.setting, s.source, coalesce(
         (SELECT f.setting FROM pg_file_settings f WHERE f.name = s.name AND f.error IS NULL ORDER BY f.seqno DESC LIMIT 1),
         s.boot_val)
FROM pg_settings s WHERE s.name IN ('wal_level', 'archive_mode', 'archive_command', 'archive_timeout') ORDER BY s.name`)
	if err != nil {
		return nil, err
	}
	type cur struct{ effective, source, configured string }
	have := map[string]cur{}
	for rows.Next() {
		var name string
		var c cur
		if err := rows.Scan(&name, &c.effective, &c.source, &c.configured); err != nil {
			return nil, err
		}
		have[name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	want := map[string]string{"wal_level": "replica", "archive_mode": "on"}
	if have["wal_level"].configured == "logical" {
		want["wal_level"] = "logical"
	}
	if normBool(have["archive_mode"].configured) == "always" {
		want["archive_mode"] = "always"
	}
	for k, v := range sighup {
		want[k] = v
	}
	var out []SettingChange
	changed := false
	for _, name := range []string{"wal_level", "archive_mode", "archive_command", "archive_timeout"} {
		c := have[name]
		sc := SettingChange{Name: name, Was: c.configured, Want: want[name]}
		if c.source == "command line" && normSetting(name, c.effective) != normSetting(name, want[name]) {
			return nil, fmt.Errorf("%s is %q, given on the server's command line (-c): ALTER SYSTEM cannot change it: %w", name, c.effective, ErrCommandLineGUC)
		}
		if normSetting(name, c.configured) != normSetting(name, want[name]) {
			if _, err := conn.Exec(ctx, "ALTER SYSTEM SET "+name+" = "+quoteLiteral(want[name])); err != nil {
				return nil, fmt.Errorf("ALTER SYSTEM SET %s: %w", name, err)
			}
			sc.Changed, changed = true, true
		}
		if name == "wal_level" || name == "archive_mode" {
			sc.RestartRequired = normSetting(name, c.effective) != normSetting(name, want[name])
		}
		out = append(out, sc)
	}
	if changed {
		if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			return nil, fmt.Errorf("reload: %w", err)
		}
	}
	return out, nil
}

// normSetting makes two spellings of one value compare equal: on/true/yes/1, "60" and "60s".
func normSetting(name, v string) string {
	switch name {
	case "archive_mode":
		return normBool(v)
	case "archive_timeout":
		// PostgreSQL's units here are ms, s, min, h, d; a bare number is seconds.
		if d, err := time.ParseDuration(strings.Replace(strings.TrimSpace(v), "min", "m", 1)); err == nil {
			return strconv.Itoa(int(d / time.Second))
		}
		return strings.TrimSpace(v)
	}
	return v
}

func normBool(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1":
		return "on"
	case "off", "false", "no", "0":
		return "off"
	}
	return strings.ToLower(strings.TrimSpace(v))
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// plainArg is what needs no quoting in a shell command.
var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./:=@+-]+$`)

// archiveQuote quotes s for archive_command: PostgreSQL replaces %p, %f and %% before the shell
// runs it, so a '%' is doubled, and anything unusual is single-quoted for the shell.
func archiveQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeIfChanged writes body to name (mode 0600) unless it already holds exactly that, through a
// temporary file and a rename so that a reader never sees half a file.
func writeIfChanged(name string, body []byte) (bool, error) {
	old, err := os.ReadFile(name)
	if err == nil && bytes.Equal(old, body) {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(f.Name(), name)
}
