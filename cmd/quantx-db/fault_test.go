package main

// The fault suite: a server restarted or killed, or the process interrupted,
// while a command is known to be in the middle of its work. "In the middle" is
// made certain, never hoped for: the test holds a lock the command must wait
// for, or an S3 gate holds the command's part upload, and acts only once the
// command is observed waiting there. Servers that are restarted or killed are
// private to the test (testenv.NewCluster, testenv.NewS3Server).

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/internal/testenv"
)

// waitFor polls cond until it holds, failing the test after limit. It waits
// for an observable state (a backend in a lock queue, an upload in the
// bucket), not for time to pass.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// backends counts the sessions of application app in database db, only those
// waiting for a heavyweight lock when waiting is set.
func backends(t *testing.T, adminURL, db, app string, waiting bool) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = $1 AND application_name = $2 AND (NOT $3 OR wait_event_type = 'Lock')`, db, app, waiting).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// lockHolder is the application_name of holdLock's session.
const lockHolder = "quantx-test-lock-holder"

// otherSessions counts the sessions in database db other than holdLock's.
func otherSessions(t *testing.T, adminURL, db string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = $1 AND application_name <> $2 AND pid <> pg_backend_pid()`, db, lockHolder).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// holdLock opens a transaction on url that runs sql (a LOCK or a read) and
// keeps it open until the returned function ends it.
func holdLock(t *testing.T, url, sql string) (release func()) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = lockHolder
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "BEGIN; "+sql); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			conn.Close(context.Background()) // ends the transaction, also after a server restart
		}
	}
	t.Cleanup(release)
	return release
}

func bucketObjects(t *testing.T, b *testenv.S3Bucket) []string {
	t.Helper()
	c, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for o := range c.ListObjects(context.Background(), b.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// startBinary runs the real quantx-db with env, in its own process group, so
// that a test can signal it as a terminal or a service manager would.
func startBinary(t *testing.T, env map[string]string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	})
	return cmd, &stderr
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode()
}

// oneErrorLine checks the documented error shape: "quantx-db: ..." and at most
// a hint, three lines at most in all.
func oneErrorLine(t *testing.T, stderr, want string) {
	t.Helper()
	t.Logf("stderr of the failed run:\n%s", stderr)
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "quantx-db: ") || strings.HasPrefix(l, "hint: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) == 0 || len(errLines) > 3 || !strings.HasPrefix(errLines[0], "quantx-db: ") || !strings.Contains(errLines[0], want) {
		t.Errorf("error lines %q: want one 'quantx-db:' line containing %q (and at most a hint)", errLines, want)
	}
}

// TestPostgresRestartedDuringBackup restarts a private PostgreSQL while pg_dump
// runs: the backup fails with one clear line, nothing is listed, nothing is
// left in the bucket (the multipart upload already under way is aborted), and
// the next run succeeds.
func TestPostgresRestartedDuringBackup(t *testing.T) {
	t.Parallel()
	c := testenv.NewCluster(t, testenv.ClusterOptions{})
	db := c.Database(t)
	b := testenv.S3(t)
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey,
		"QUANTX_S3_SECRET_KEY": b.SecretKey, "QUANTX_S3_BUCKET": b.Bucket}
	execSQL(t, db.URL, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g")
	holdLock(t, db.URL, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE")

	done := make(chan cliResult, 1)
	go func() { done <- runCLI(t, env, "backup", "postgres") }()
	// pg_dump waits for the test's lock, and the dump's multipart upload exists.
	waitFor(t, 60*time.Second, "pg_dump to wait for the lock and its upload to start", func() bool {
		return backends(t, c.URL, db.Name, "pg_dump", true) == 1 && len(incompleteUploads(t, b)) == 1
	})
	c.Restart(t)
	r := <-done
	if r.code != exitFailure {
		t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
	}
	oneErrorLine(t, r.stderr, "pg_dump")
	if doc := listBackups(t, env); len(doc.Backups) != 0 {
		t.Fatalf("a failed backup is listed: %+v", doc)
	}
	if ups, objs := incompleteUploads(t, b), bucketObjects(t, b); len(ups) != 0 || len(objs) != 0 {
		t.Fatalf("left in the bucket: uploads %v, objects %v", ups, objs)
	}
	if r := runCLI(t, env, "backup", "postgres"); r.code != exitOK {
		t.Fatalf("the next backup: exit %d: %s", r.code, r.stderr)
	}
	if doc := listBackups(t, env); len(doc.Backups) != 1 || doc.Backups[0].TableCounts["public.t"] != 5000 {
		t.Fatalf("after the re-run: %+v", doc)
	}
}

// killS3MidUpload runs the command with its part uploads held at the gate,
// kills the S3 server while the first part is on its way, and returns the
// command's result, which must be a failure (exit 1).
func killS3MidUpload(t *testing.T, s3 *testenv.S3Server, gate *testenv.S3Gate, env map[string]string, args ...string) cliResult {
	t.Helper()
	gate.HoldParts()
	done := make(chan cliResult, 1)
	go func() { done <- runCLI(t, env, args...) }()
	select {
	case <-gate.Held():
	case r := <-done:
		t.Fatalf("%q ended before its first part was sent: exit %d: %s", args, r.code, r.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("%q: no part upload within 60s", args)
	}
	s3.Kill(t)
	gate.Release()
	r := <-done
	if r.code != exitFailure {
		t.Fatalf("%q: exit %d, want 1; stderr: %s", args, r.code, r.stderr)
	}
	return r
}

// TestS3KilledDuringBackup kills a private S3 server while a part of the dump
// is on its way: the backup fails, nothing is listed after the server is back,
// and what it left (the incomplete upload, maybe globals.sql) is cleaned by
// prune; the next backup succeeds.
func TestS3KilledDuringBackup(t *testing.T) {
	t.Parallel()
	s3 := testenv.NewS3Server(t)
	gate := testenv.NewS3Gate(t, s3.Endpoint)
	db := testenv.Postgres(t)
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_S3_ENDPOINT": gate.Endpoint, "QUANTX_S3_ACCESS_KEY": s3.AccessKey,
		"QUANTX_S3_SECRET_KEY": s3.SecretKey, "QUANTX_S3_BUCKET": s3.Bucket}
	execSQL(t, db.URL, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g")

	r := killS3MidUpload(t, s3, gate, env, "backup", "postgres")
	oneErrorLine(t, r.stderr, "backup postgres")

	s3.Start(t)
	if doc := listBackups(t, env); len(doc.Backups) != 0 {
		t.Fatalf("a backup is listed after S3 died under it: %+v", doc)
	}
	if len(incompleteUploads(t, &s3.S3Bucket)) == 0 {
		t.Fatal("the dead server kept no incomplete upload: the test proves nothing about the cleanup")
	}
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "1", "--stale-after", "0s", "--yes"); r.code != exitOK {
		t.Fatalf("prune: exit %d: %s", r.code, r.stderr)
	}
	if ups, objs := incompleteUploads(t, &s3.S3Bucket), bucketObjects(t, &s3.S3Bucket); len(ups) != 0 || len(objs) != 0 {
		t.Fatalf("after prune: uploads %v, objects %v", ups, objs)
	}
	if r := runCLI(t, env, "backup", "postgres"); r.code != exitOK {
		t.Fatalf("the next backup: exit %d: %s", r.code, r.stderr)
	}
	if doc := listBackups(t, env); len(doc.Backups) != 1 {
		t.Fatalf("after the re-run: %+v", doc)
	}
}

// TestS3KilledDuringRetentionArchive kills a private S3 server while the first
// expired month is being archived: no partition is dropped, no row is lost (the
// detached months keep every row), orders are not touched; once S3 is back the
// next run aborts the leftover upload and finishes the job.
func TestS3KilledDuringRetentionArchive(t *testing.T) {
	t.Parallel()
	s3 := testenv.NewS3Server(t)
	gate := testenv.NewS3Gate(t, s3.Endpoint)
	db := testenv.MigratedPostgres(t, 0)
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_S3_ENDPOINT": gate.Endpoint, "QUANTX_S3_ACCESS_KEY": s3.AccessKey,
		"QUANTX_S3_SECRET_KEY": s3.SecretKey, "QUANTX_S3_BUCKET": s3.Bucket, "QUANTX_NOW": "2030-06-15T00:00:00Z"}
	if r := runCLI(t, env, "partitions", "ensure", "--months-back", "27"); r.code != exitOK {
		t.Fatalf("partitions ensure: %s", r.stderr)
	}
	// 1000 rows in each of March-May 2028 (expired: the cutoff is 2028-06-15), and 50 expired orders.
	execSQL(t, db.URL, `INSERT INTO activity_logs (action, resource_type, created_at)
		SELECT 'login', 'session', timestamptz '2028-03-01 00:00:00+00' + (i % 3) * interval '1 month' + (i % 997) * interval '1 minute'
		FROM generate_series(0, 2999) i;
	INSERT INTO users (id, email, password_hash) VALUES ('00000000-0000-0000-0000-000000000001', 'a@x', 'h');
	INSERT INTO portfolios (id, user_id, name) VALUES ('00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'p');
	INSERT INTO orders (portfolio_id, user_id, symbol, order_type, side, quantity, status, created_at)
		SELECT '00000000-0000-0000-0000-0000000000aa', '00000000-0000-0000-0000-000000000001', 'AAPL', 'MARKET', 'BUY', 1, 'FILLED', timestamptz '2028-01-01' + i * interval '1 hour'
		FROM generate_series(1, 50) i`)
	months := []string{"activity_logs_y2028m03", "activity_logs_y2028m04", "activity_logs_y2028m05"}
	rowsIn := func(table string) int64 {
		return countRows(t, db.URL, "SELECT count(*) FROM ONLY "+pgx.Identifier{table}.Sanitize())
	}

	r := killS3MidUpload(t, s3, gate, env, "retention", "apply", "--yes")
	oneErrorLine(t, r.stderr, "detached, until an archive is confirmed")
	for _, m := range months {
		if n := rowsIn(m); n != 1000 {
			t.Errorf("%s holds %d row(s) after the failed run, want 1000", m, n)
		}
	}
	if n := countRows(t, db.URL, "SELECT count(*) FROM orders WHERE archived"); n != 0 {
		t.Errorf("%d order(s) archived by a run whose archive failed", n)
	}

	s3.Start(t)
	if len(incompleteUploads(t, &s3.S3Bucket)) == 0 {
		t.Fatal("the dead server kept no incomplete upload: the test proves nothing about the cleanup")
	}
	r = runCLI(t, env, "retention", "apply", "--yes", "--stale-after", "0s", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("the next run: exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Tables []struct {
			Table      string `json:"table"`
			Rows       int64  `json:"rows"`
			Partitions []struct {
				Partition string `json:"partition"`
				Dropped   bool   `json:"dropped"`
				Archive   *struct {
					Rows     int64 `json:"rows"`
					Verified bool  `json:"verified"`
				} `json:"archive"`
			} `json:"partitions"`
		} `json:"tables"`
		AbortedUploads []string `json:"aborted_uploads"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.AbortedUploads) == 0 {
		t.Errorf("the next run aborted no stale upload: %s", r.stdout)
	}
	archived := map[string]int64{}
	for _, p := range rep.Tables[0].Partitions {
		if !p.Dropped || p.Archive == nil || !p.Archive.Verified {
			t.Errorf("%s: dropped %v, archive %+v", p.Partition, p.Dropped, p.Archive)
			continue
		}
		archived[p.Partition] = p.Archive.Rows
	}
	for _, m := range months {
		if archived[m] != 1000 || countRows(t, db.URL, "SELECT count(*) FROM pg_class WHERE relname = '"+m+"'") != 0 {
			t.Errorf("%s: archived %d row(s), want 1000, and the table dropped", m, archived[m])
		}
	}
	if n := countRows(t, db.URL, "SELECT count(*) FROM orders WHERE archived"); n != 50 {
		t.Errorf("%d order(s) archived, want 50", n)
	}
	if ups := incompleteUploads(t, &s3.S3Bucket); len(ups) != 0 {
		t.Errorf("incomplete uploads left: %v", ups)
	}
}

// TestInterruptDuringBackup sends SIGINT to quantx-db while pg_dump waits for a
// lock: exit 130, nothing listed, nothing left in the bucket, and pg_dump's
// session is gone from the server at once (not left queued for the lock,
// holding its own, until the lock holder finishes).
func TestInterruptDuringBackup(t *testing.T) {
	t.Parallel()
	env, db, b := backupEnv(t)
	execSQL(t, db.URL, "CREATE TABLE a (id int); CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
	holdLock(t, db.URL, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
	cmd, stderr := startBinary(t, env, "backup", "postgres")
	waitFor(t, 60*time.Second, "pg_dump to wait for the lock and its upload to start", func() bool {
		return backends(t, db.AdminURL, db.Name, "pg_dump", true) == 1 && len(incompleteUploads(t, b)) == 1
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil { // to quantx-db only, as `kill -INT` or a service manager does
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr: %s", code, stderr)
	}
	oneErrorLine(t, stderr.String(), "interrupted")
	// The lock is still held: a pg_dump session still there now would wait for it.
	waitFor(t, 10*time.Second, "pg_dump's and quantx-db's sessions to leave the server", func() bool {
		return otherSessions(t, db.AdminURL, db.Name) == 0
	})
	if doc := listBackups(t, env); len(doc.Backups) != 0 {
		t.Fatalf("an interrupted backup is listed: %+v", doc)
	}
	if ups, objs := incompleteUploads(t, b), bucketObjects(t, b); len(ups) != 0 || len(objs) != 0 {
		t.Fatalf("left in the bucket: uploads %v, objects %v", ups, objs)
	}
}

// TestInterruptDuringPartitionsEnsure sends SIGINT while ensure waits for the
// lock on DEFAULT that moving its rows needs: exit 130, no partition half made,
// every row still in DEFAULT, no session left; the next run does the job.
func TestInterruptDuringPartitionsEnsure(t *testing.T) {
	t.Parallel()
	db := testenv.MigratedPostgres(t, 0)
	env := map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_NOW": "2031-01-15T00:00:00Z"}
	// Rows for January 2031, whose partition does not exist yet: they sit in DEFAULT.
	execSQL(t, db.URL, `INSERT INTO activity_logs (action, resource_type, created_at)
		SELECT 'login', 'session', timestamptz '2031-01-20 00:00:00+00' + i * interval '1 second' FROM generate_series(1, 500) i`)
	newParts := func() int64 {
		return countRows(t, db.URL, `SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') AND relname LIKE 'activity\_logs\_y2031%'`)
	}
	release := holdLock(t, db.URL, "SELECT count(*) FROM activity_logs_default")
	cmd, stderr := startBinary(t, env, "partitions", "ensure", "--lock-timeout", "0")
	waitFor(t, 60*time.Second, "ensure to wait for the lock on activity_logs_default", func() bool {
		return backends(t, db.AdminURL, db.Name, "quantx-db", true) == 1
	})
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil { // the whole group, as Ctrl-C does
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr: %s", code, stderr)
	}
	oneErrorLine(t, stderr.String(), "interrupted")
	waitFor(t, 10*time.Second, "quantx-db's sessions to leave the server", func() bool {
		return otherSessions(t, db.AdminURL, db.Name) == 0
	})
	if n := newParts(); n != 0 {
		t.Fatalf("%d 2031 partition(s) or half-made table(s) after the interrupted run", n)
	}
	if n := countRows(t, db.URL, "SELECT count(*) FROM ONLY activity_logs_default"); n != 500 {
		t.Fatalf("DEFAULT holds %d row(s), want 500", n)
	}
	release()
	if r := runCLI(t, env, "partitions", "ensure"); r.code != exitOK {
		t.Fatalf("the next run: exit %d: %s", r.code, r.stderr)
	}
	if n := countRows(t, db.URL, "SELECT count(*) FROM ONLY activity_logs_y2031m01"); n != 500 || newParts() != 4 {
		t.Fatalf("after the next run: %d row(s) in January 2031, %d new partition(s)", n, newParts())
	}
	if n := countRows(t, db.URL, "SELECT count(*) FROM ONLY activity_logs_default"); n != 0 {
		t.Fatalf("DEFAULT still holds %d row(s)", n)
	}
}
