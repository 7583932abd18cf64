package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/testenv"
)

// TestWALSetupRefusesWrongUserAndIsIdempotent: as root and as a user who does not own the data
// directory, wal setup says so in one line, exits 2 and changes nothing; as the owner it configures
// archiving, says a restart is required, and after the restart a second and third run change nothing.
// The repository is encrypted from a passphrase file: nothing readable in the bucket, and a backup
// restores.
func TestWALSetupRefusesWrongUserAndIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newPITREnv(t, testenv.S3TLS(t), testenv.ClusterOptions{})
	pass := e.writeOwned("repo.pass", "a long random passphrase for the repository\n")
	autoConf := filepath.Join(e.c.DataDir, "postgresql.auto.conf")
	before, err := os.ReadFile(autoConf)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"", "nobody"} { // "": root, the test's own user
		r := e.cliAs(user, e.setupArgs("--repo-passphrase-file", pass)...)
		if r.code != exitUsage || !isOneLine(r.stderr) || !strings.Contains(r.stderr, "owner") {
			t.Fatalf("wal setup as %q: exit %d, stderr %q; want exit 2 and one line about the owner", user, r.code, r.stderr)
		}
		if user == "" && (!strings.Contains(r.stderr, "root") || !strings.Contains(r.stderr, e.c.OSUser)) {
			t.Errorf("as root: %q does not say root is refused and whom to run as (%s)", r.stderr, e.c.OSUser)
		}
		if _, err := os.Stat(e.conf); !os.IsNotExist(err) {
			t.Fatalf("wal setup as %q wrote %s", user, e.conf)
		}
		if after, _ := os.ReadFile(autoConf); !bytes.Equal(after, before) {
			t.Fatalf("wal setup as %q changed postgresql.auto.conf:\n%s", user, after)
		}
	}

	e.setup("--repo-passphrase-file", pass) // as the owner: changed and restart required, then checked with no change
	st1, _ := os.Stat(e.conf)
	auto1, _ := os.ReadFile(autoConf)
	if st1.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v; it holds the S3 secret", e.conf, st1.Mode().Perm())
	}
	third := decodeJSON[backup.SetupResult](t, e.must(e.setupArgs("--repo-passphrase-file", pass)...).stdout)
	st3, _ := os.Stat(e.conf)
	auto3, _ := os.ReadFile(autoConf)
	if third.Changed || third.ConfigChanged || !third.Checked || !st3.ModTime().Equal(st1.ModTime()) || !bytes.Equal(auto1, auto3) {
		t.Fatalf("third wal setup changed something: %+v", third)
	}
	for _, want := range []string{"archive_mode = 'on'", "archive-push %p", "archive_timeout = '60'"} {
		if !strings.Contains(string(auto3), want) {
			t.Errorf("postgresql.auto.conf lacks %q:\n%s", want, auto3)
		}
	}
	if r := e.cli(append(e.setupArgs()[:len(e.setupArgs())-2], "--repo-passphrase-file", pass)...); r.code != exitOK || !strings.Contains(r.stdout, "nothing changed") {
		t.Errorf("text output of an idempotent run: %d\n%s", r.code, r.stdout)
	}

	// Encrypted: the listing says so, the bucket holds no readable pgBackRest file, a restore works.
	m := decodeJSON[backup.Manifest](t, e.must("backup", "physical", "-o", "json").stdout)
	if m.Encryption != "aes-256-cbc" || !third.Encrypted {
		t.Fatalf("encryption: backup %q, setup %t", m.Encryption, third.Encrypted)
	}
	client, err := e.s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := client.GetObject(t.Context(), e.s3.Bucket, "pitr/pgbackrest/backup/main/backup.info", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 64)
	n, _ := obj.Read(head)
	obj.Close()
	if n == 0 || bytes.Contains(head[:n], []byte("[backrest]")) || bytes.Contains(head[:n], []byte("[backup")) {
		t.Fatalf("backup.info is readable without the passphrase: %q", head[:n])
	}
	restored := e.restorePath("encrypted")
	e.stopRestored(restored)
	if r := decodeJSON[backup.PITRResult](t, e.must("restore", "pitr", "--pgdata", restored, "--latest", "--start",
		"--port", strconv.Itoa(testenv.FreePort(t)), "--verify", "-o", "json").stdout); r.Verify == nil || !r.Verify.OK {
		t.Fatalf("restore from the encrypted repository: %+v", r)
	}
}

// TestWALStatusWhenS3IsDown: with the repository's S3 server killed, wal status exits 3 within 10
// seconds naming the unreachable repository, archive_command fails and PostgreSQL keeps the WAL;
// with S3 back, archiving catches up and every segment since the backup can be fetched (no gap).
func TestWALStatusWhenS3IsDown(t *testing.T) {
	t.Parallel()
	srv := testenv.NewS3ServerTLS(t)
	e := newPITREnv(t, &srv.S3Bucket, testenv.ClusterOptions{})
	// io-timeout=2: pgBackRest gives up on the dead server after about 4 x 2 s instead of minutes,
	// so the archiver's failure shows in pg_stat_archiver within the test's patience.
	e.setup("--pgbackrest-option", "io-timeout=2")
	full := decodeJSON[backup.Manifest](t, e.must("backup", "physical", "-o", "json").stdout)
	if r := e.must("wal", "status", "-o", "json"); !decodeStatus[backup.WALStatus](t, r.stdout).OK {
		t.Fatalf("wal status before the outage: %s", r.stdout)
	}
	db := e.c.Database(t)
	conn := pitrConnect(t, e.c.Port, db.Name)
	pitrExec(t, conn, `CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())`)

	srv.Kill(t)
	pitrExec(t, conn, `INSERT INTO ticks SELECT FROM generate_series(1, 1000)`)
	var held string
	if err := conn.QueryRow(t.Context(), `SELECT pg_walfile_name(pg_switch_wal())`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.cli("wal", "status", "-o", "json")
	took := time.Since(start)
	st := decodeStatus[backup.WALStatus](t, r.stdout)
	if r.code != exitCheck || took > 10*time.Second || st.Repository.Reachable || !strings.Contains(r.stderr, "unreachable") {
		t.Fatalf("wal status with S3 down: exit %d in %s, repository %+v\n%s", r.code, took, st.Repository, r.stderr)
	}
	// status (without the logical backups' bucket, on the dead server too) flags WAL archiving.
	if r := e.cliEnv([]string{"QUANTX_S3_BUCKET="}, "status", "--exit-code", "-o", "json"); r.code != exitCheck || !strings.Contains(r.stdout, `"wal archiving"`) {
		t.Errorf("status --exit-code with S3 down: exit %d\n%s", r.code, r.stdout)
	}

	if r := e.cliEnv([]string{"QUANTX_S3_BUCKET="}, "doctor", "-o", "json"); r.code != exitCheck || !strings.Contains(r.stdout, `"wal archiving"`) || !strings.Contains(r.stdout, "unreachable") {
		t.Errorf("doctor with S3 down: exit %d\n%s", r.code, r.stdout)
	}

	// archive_command fails (pg_stat_archiver counts it), and the segment stays in pg_wal, ready.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var failed int64
		if err := conn.QueryRow(t.Context(), `SELECT failed_count FROM pg_stat_archiver`).Scan(&failed); err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("archive_command did not fail within 90 s of the S3 server's death")
		}
		time.Sleep(250 * time.Millisecond)
	}
	r = e.cli("wal", "status", "-o", "json")
	st = decodeStatus[backup.WALStatus](t, r.stdout)
	if r.code != exitCheck || !st.Failing || st.FailedCount == 0 || st.LastFailure == "" || st.ReadySegments == nil || *st.ReadySegments == 0 {
		t.Fatalf("wal status while archive_command fails: exit %d %+v", r.code, st)
	}
	t.Logf("named failure: %s", st.LastFailure)
	for _, f := range []string{filepath.Join("pg_wal", held), filepath.Join("pg_wal", "archive_status", held+".ready")} {
		if _, err := os.Stat(filepath.Join(e.c.DataDir, f)); err != nil {
			t.Fatalf("PostgreSQL did not keep %s while S3 was down: %v", f, err)
		}
	}

	// S3 back: the backlog is archived (a new segment wakes the archiver), and the archive is whole.
	srv.Start(t)
	pitrExec(t, conn, `INSERT INTO ticks SELECT FROM generate_series(1, 1000)`)
	e.switchAndWait(conn, 2*time.Minute)
	r = e.cli("wal", "status", "-o", "json")
	if st := decodeStatus[backup.WALStatus](t, r.stdout); r.code != exitOK || st.Failing || !st.Repository.Reachable {
		t.Fatalf("wal status after S3 came back: exit %d %+v\n%s", r.code, st, r.stderr)
	}
	if n := e.assertNoGap(full.Physical.WALStart); n < 3 {
		t.Fatalf("only %d segments since the backup", n)
	}
}

// TestArchiveHasNoGapAfterKill9UnderLoad: kill -9 of the postmaster while pgbench writes and the
// archiver pushes; after the restart (crash recovery) archiving resumes, and every segment from the
// first archived one to the newest can be fetched.
func TestArchiveHasNoGapAfterKill9UnderLoad(t *testing.T) {
	t.Parallel()
	// fsync and full-page writes on (crash-safe WAL); synchronous_commit off only lets the load
	// write WAL faster on a small machine.
	e := newPITREnv(t, testenv.S3TLS(t), testenv.ClusterOptions{Durable: true, Settings: map[string]string{"synchronous_commit": "off"}})
	e.setup()
	db := e.c.Database(t)
	pgbench := e.pgBin("pgbench")
	url := db.URL
	pitrExec(t, pitrConnect(t, e.c.Port, db.Name), `CREATE TABLE load (id bigint, pad text)`)
	script := filepath.Join(t.TempDir(), "load.sql")
	// About 150 kB of WAL per transaction: a segment every hundred transactions.
	if err := os.WriteFile(script, []byte("INSERT INTO load SELECT g, repeat('x', 200) FROM generate_series(1, 500) g;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := pitrConnect(t, e.c.Port, "postgres")
	var first string
	if err := conn.QueryRow(t.Context(), `SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	archived := func() int64 {
		var n int64
		if err := conn.QueryRow(t.Context(), `SELECT archived_count FROM pg_stat_archiver`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := archived()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	load := exec.CommandContext(ctx, pgbench, "-c", "2", "-j", "2", "-T", "60", "-n", "-f", script, url)
	var loadOut bytes.Buffer
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- load.Wait() }()
	deadline := time.Now().Add(45 * time.Second)
	for archived() < base+3 { // the archiver is busy pushing what the load writes
		if time.Now().After(deadline) {
			t.Fatalf("the archiver did not keep up with the load: %d archived\n%s", archived()-base, loadOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ready int
	_ = conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`).Scan(&ready)
	t.Logf("kill -9 with %d segment(s) archived since the load began and %d waiting", archived()-base, ready)
	conn.Close(context.Background())
	e.c.Kill(t)
	<-done // pgbench ends with its connections
	e.c.Start(t)

	conn = pitrConnect(t, e.c.Port, db.Name)
	pitrExec(t, conn, `INSERT INTO load VALUES (0, 'after the crash')`)
	e.switchAndWait(conn, 2*time.Minute)
	if first == "" {
		first = fmt.Sprintf("%08X%08X%08X", 1, 0, 1)
	}
	e.assertNoGap(first[:24])
}
