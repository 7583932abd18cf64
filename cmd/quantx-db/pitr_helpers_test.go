package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/testenv"
)

// pitrEnv is a private PostgreSQL cluster whose WAL goes, through pgBackRest, into a bucket on an
// S3 server that speaks TLS, driven by the quantx-db binary run as the cluster's OS user (pgBackRest
// refuses other users, and quantx-db refuses root).
type pitrEnv struct {
	t      *testing.T
	c      *testenv.Cluster
	s3     *testenv.S3Bucket
	dir    string // owned by the cluster's user: pgBackRest configuration, logs, locks, restores
	conf   string
	stanza string
	bin    string
	env    []string
}

// newPITREnv starts a private cluster and prepares the settings for bucket b. Nothing is set up yet.
func newPITREnv(t *testing.T, b *testenv.S3Bucket, opts testenv.ClusterOptions) *pitrEnv {
	t.Helper()
	testenv.Tool(t, "s3tls", "pgbackrest")
	bin := binary(t)
	// The build folder is private to root; the cluster's user must be able to run the binary.
	if err := os.Chmod(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	c := testenv.NewCluster(t, opts)
	e := &pitrEnv{t: t, c: c, s3: b, bin: bin, stanza: "main"}
	e.dir = c.Dir(t, "pitr")
	e.conf = filepath.Join(e.dir, "pgbackrest.conf")
	e.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"QUANTX_S3_ENDPOINT=" + b.Endpoint, "QUANTX_S3_ACCESS_KEY=" + b.AccessKey, "QUANTX_S3_SECRET_KEY=" + b.SecretKey,
		"QUANTX_S3_BUCKET=" + b.Bucket, "QUANTX_S3_TLS=true", "QUANTX_S3_CA_FILE=" + b.CAFile, "QUANTX_S3_PREFIX=pitr/",
		"QUANTX_PGBACKREST_CONFIG=" + e.conf, "QUANTX_STANZA=" + e.stanza,
	}
	return e
}

// cli runs quantx-db as the cluster's OS user.
func (e *pitrEnv) cli(args ...string) cliResult {
	e.t.Helper()
	return e.run(e.c.Command(context.Background(), e.bin, args...), args)
}

// cliEnv runs quantx-db as the cluster's OS user with extra KEY=VALUE settings (later ones win).
func (e *pitrEnv) cliEnv(extra []string, args ...string) cliResult {
	e.t.Helper()
	cmd := e.c.Command(context.Background(), e.bin, args...)
	saved := e.env
	e.env = append(append([]string(nil), e.env...), extra...)
	defer func() { e.env = saved }()
	return e.run(cmd, args)
}

// cliAs runs quantx-db as user ("" is the test's own user, root here).
func (e *pitrEnv) cliAs(user string, args ...string) cliResult {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	if user != "" {
		cmd = exec.Command("runuser", append([]string{"-u", user, "--", e.bin}, args...)...)
	}
	return e.run(cmd, args)
}

func (e *pitrEnv) run(cmd *exec.Cmd, args []string) cliResult {
	e.t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Env, cmd.Dir = &out, &errOut, e.env, "/"
	start := time.Now()
	err := cmd.Run()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run quantx-db %v: %v", args, err)
	}
	e.t.Logf("quantx-db %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return cliResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

// must runs quantx-db as the cluster's user and fails the test unless it exits 0.
func (e *pitrEnv) must(args ...string) cliResult {
	e.t.Helper()
	r := e.cli(args...)
	if r.code != exitOK {
		e.t.Fatalf("quantx-db %s: exit %d\n%s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// setupArgs are the wal setup flags every test uses: pgBackRest's folders beside its configuration,
// an immediate checkpoint at backup start and parallel transfers (both only for speed).
func (e *pitrEnv) setupArgs(extra ...string) []string {
	return append([]string{"wal", "setup", "--pgdata", e.c.DataDir, "--log-path", filepath.Join(e.dir, "log"),
		"--lock-path", filepath.Join(e.dir, "lock"), "--spool-path", filepath.Join(e.dir, "spool"),
		"--pgbackrest-option", "start-fast=y", "--pgbackrest-option", "process-max=2", "-o", "json"}, extra...)
}

// setup runs wal setup, restarts the cluster for archive_mode, and runs it again (which checks).
func (e *pitrEnv) setup(extra ...string) {
	e.t.Helper()
	first := decodeJSON[backup.SetupResult](e.t, e.must(e.setupArgs(extra...)...).stdout)
	if !first.Changed || !first.RestartRequired || first.Checked {
		e.t.Fatalf("first wal setup: %+v", first)
	}
	e.c.Restart(e.t)
	second := decodeJSON[backup.SetupResult](e.t, e.must(e.setupArgs(extra...)...).stdout)
	if second.Changed || second.RestartRequired || !second.Checked {
		e.t.Fatalf("wal setup after the restart: %+v", second)
	}
}

// pitrConnect connects to database db of the cluster (or of a restored copy on port).
func pitrConnect(t *testing.T, port int, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func pitrExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// switchAndWait closes the current WAL segment and waits until the archiver has archived it.
func (e *pitrEnv) switchAndWait(conn *pgx.Conn, within time.Duration) string {
	e.t.Helper()
	var seg string
	if err := conn.QueryRow(e.t.Context(), `SELECT pg_walfile_name(pg_switch_wal())`).Scan(&seg); err != nil {
		e.t.Fatal(err)
	}
	e.waitArchived(conn, seg, within)
	return seg
}

// waitArchived polls pg_stat_archiver until seg (or a later segment) is archived.
func (e *pitrEnv) waitArchived(conn *pgx.Conn, seg string, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var last *string
		if err := conn.QueryRow(e.t.Context(), `SELECT last_archived_wal FROM pg_stat_archiver`).Scan(&last); err != nil {
			e.t.Fatal(err)
		}
		if last != nil && len(*last) >= 24 && (*last)[:24] >= seg {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("segment %s not archived within %s (last archived %v)", seg, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pgbackrest runs pgbackrest itself with the configuration quantx-db wrote, as the cluster's user.
func (e *pitrEnv) pgbackrest(args ...string) ([]byte, error) {
	e.t.Helper()
	cmd := e.c.Command(context.Background(), "pgbackrest", append([]string{"--config=" + e.conf, "--stanza=" + e.stanza}, args...)...)
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// assertNoGap fetches every archived segment from first to the newest with pgbackrest archive-get:
// each one must be there and readable (checksum and decompression are pgBackRest's).
func (e *pitrEnv) assertNoGap(first string) int {
	e.t.Helper()
	out, err := e.pgbackrest("--output=json", "info")
	if err != nil {
		e.t.Fatalf("pgbackrest info: %v\n%s", err, out)
	}
	var info []struct {
		Archive []struct{ Min, Max string } `json:"archive"`
	}
	if err := json.Unmarshal(out, &info); err != nil || len(info) != 1 || len(info[0].Archive) == 0 {
		e.t.Fatalf("pgbackrest info: %v\n%s", err, out)
	}
	last := info[0].Archive[len(info[0].Archive)-1].Max
	fetch := e.c.Dir(e.t, "fetch")
	n := 0
	for seg := first; seg <= last; seg = backup.NextWALSegment(seg, 16<<20) {
		dest := filepath.Join(fetch, seg)
		if out, err := e.pgbackrest("archive-get", seg, dest); err != nil {
			e.t.Fatalf("gap in the archive: %s (between %s and %s) cannot be fetched: %v\n%s", seg, first, last, err, out)
		}
		if st, err := os.Stat(dest); err != nil || st.Size() != 16<<20 {
			e.t.Fatalf("fetched %s: %v, %v bytes", seg, err, st)
		}
		os.Remove(dest)
		n++
	}
	e.t.Logf("archive %s..%s: all %d segments fetched", first, last, n)
	return n
}

// writeOwned writes a file (mode 0600) in e.dir as the cluster's OS user, and returns its path.
func (e *pitrEnv) writeOwned(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	cmd := e.c.Command(context.Background(), "sh", "-c", `umask 077 && cat > "$0"`, p)
	cmd.Stdin = strings.NewReader(content)
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("write %s: %v %s", p, err, out)
	}
	return p
}

// restorePath is a path for a restored copy that does not exist yet, in a folder the cluster's
// user owns.
func (e *pitrEnv) restorePath(name string) string {
	return filepath.Join(e.dir, name)
}

// stopRestored stops a restored copy when the test ends.
func (e *pitrEnv) stopRestored(pgdata string) {
	e.t.Cleanup(func() {
		_ = e.c.Command(context.Background(), e.pgBin("pg_ctl"), "-D", pgdata, "-m", "immediate", "stop").Run()
	})
}

// schemaOf is pg_dump --schema-only of a database (the restored copy's and the source's must match).
func (e *pitrEnv) schemaOf(port int, db string) string {
	e.t.Helper()
	out, err := exec.Command(e.pgBin("pg_dump"), "--schema-only", "--no-owner",
		"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", db).Output()
	if err != nil {
		e.t.Fatalf("pg_dump --schema-only port %d: %v", port, err)
	}
	// pg_dump 15.14+ brackets its output with \restrict KEY / \unrestrict KEY, a random key per run.
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, `\restrict `) && !strings.HasPrefix(line, `\unrestrict `) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// pgBin is a PostgreSQL binary of the cluster's version (BinDir may hold symlinks to a few only).
func (e *pitrEnv) pgBin(name string) string {
	ctl, err := filepath.EvalSymlinks(filepath.Join(e.c.BinDir, "pg_ctl"))
	if err != nil {
		e.t.Fatal(err)
	}
	return filepath.Join(filepath.Dir(ctl), name)
}

// isOneLine reports whether s is exactly one non-empty line.
func isOneLine(s string) bool {
	s = strings.TrimRight(s, "\n")
	return s != "" && !strings.Contains(s, "\n")
}
