package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/influxclient"
	"github.com/quantx/quantx-db/internal/testenv"
)

// freshEnv is the settings of database db with bucket b (no pgBackRest configuration here).
func freshEnv(t *testing.T, db *testenv.PGDatabase, b *testenv.S3Bucket) map[string]string {
	t.Helper()
	return map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey,
		"QUANTX_S3_SECRET_KEY": b.SecretKey, "QUANTX_S3_BUCKET": b.Bucket,
		"QUANTX_PGBACKREST_CONFIG": filepath.Join(t.TempDir(), "none.conf")}
}

// with returns env with the given KEY, VALUE pairs changed.
func with(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// mustCLI runs the CLI and fails the test unless it exits with code.
func mustCLI(t *testing.T, code int, env map[string]string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, env, args...)
	if r.code != code {
		t.Fatalf("quantx-db %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// TestBackupFreshnessPerDatabase: database A is backed up, then B. status for A reports A's backup
// (the newest of the kind is B's: the old report showed that one and hid A's dead job), status for
// a database without backups warns and names A and B, and the metrics of status carry both.
func TestBackupFreshnessPerDatabase(t *testing.T) {
	t.Parallel()
	a, bdb, c := testenv.Postgres(t), testenv.Postgres(t), testenv.Postgres(t)
	s3 := testenv.S3(t)
	envA := freshEnv(t, a, s3)
	envB, envC := with(envA, "QUANTX_DATABASE_URL", bdb.URL), with(envA, "QUANTX_DATABASE_URL", c.URL)
	execSQL(t, a.URL, `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)`)

	backupA := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, envA, "backup", "postgres", "-o", "json").stdout)
	backupB := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, envB, "backup", "postgres", "-o", "json").stdout)
	if backupA.Database != a.Name || backupB.Database != bdb.Name || !backupB.FinishedAt.After(backupA.FinishedAt) {
		t.Fatalf("backups: %s of %s, then %s of %s", backupA.ID, backupA.Database, backupB.ID, backupB.Database)
	}

	metrics := filepath.Join(t.TempDir(), "quantx.prom")
	st := decodeJSON[statusDoc](t, mustCLI(t, exitOK, envA, "status", "--exit-code=false", "-o", "json", "--metrics-file", metrics).stdout)
	got := statusItem(st, "s3", "backup postgres")
	if got.State != "ok" || !strings.Contains(got.Detail, backupA.ID) || !strings.Contains(got.Detail, a.Name) {
		t.Fatalf("status for A: %+v; want A's backup %s (B's %s is newer)", got, backupA.ID, backupB.ID)
	}
	if got := statusItem(st, "s3", "backup influx"); got.State != "warn" || !strings.Contains(got.Detail, "no backup of quantx_db") {
		t.Errorf("influx line: %+v", got)
	}
	fams := promFile(t, metrics)
	for _, m := range []backup.Manifest{backupA, backupB} {
		ts := mustSeries(t, fams, "quantx_db_backup_last_timestamp_seconds", "command", "status", "kind", "postgres", "database", m.Database)
		size := mustSeries(t, fams, "quantx_db_backup_last_size_bytes", "command", "status", "kind", "postgres", "database", m.Database)
		if math.Abs(ts-float64(m.FinishedAt.UnixNano())/1e9) > 1e-3 || int64(size) != bucketBytes(t, s3, m) {
			t.Errorf("status metrics of %s: time %v size %v; manifest %s, %d bytes in the bucket", m.Database, ts, size, m.FinishedAt, bucketBytes(t, s3, m))
		}
	}

	st = decodeJSON[statusDoc](t, mustCLI(t, exitOK, envC, "status", "--exit-code=false", "-o", "json").stdout)
	got = statusItem(st, "s3", "backup postgres")
	if got.State != "warn" || !strings.Contains(got.Detail, "no backup of "+c.Name) ||
		!strings.Contains(got.Detail, a.Name) || !strings.Contains(got.Detail, bdb.Name) {
		t.Fatalf("status for C (no backup): %+v; want a warning naming %s and %s", got, a.Name, bdb.Name)
	}
}

// TestBackupListInfoAndLatest: list filters by kind and database (a mistyped kind is exit 2), info's
// figures match the objects in the bucket, verify and restore --verify record their outcome beside
// the manifest and info shows it, and "latest" resolves for verify and restore, with the failures
// named.
func TestBackupListInfoAndLatest(t *testing.T) {
	t.Parallel()
	a, bdb := testenv.Postgres(t), testenv.Postgres(t)
	s3 := testenv.S3(t)
	envA := freshEnv(t, a, s3)
	envB := with(envA, "QUANTX_DATABASE_URL", bdb.URL)
	execSQL(t, a.URL, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g`)
	a1 := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, envA, "backup", "postgres", "-o", "json").stdout)
	execSQL(t, a.URL, `INSERT INTO t SELECT g, 'v' || g FROM generate_series(501, 700) g`)
	a2 := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, envA, "backup", "postgres", "-o", "json").stdout)
	b1 := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, envB, "backup", "postgres", "-o", "json").stdout)

	// list --kind/--database.
	ids := func(args ...string) []string {
		t.Helper()
		var out []string
		for _, m := range decodeJSON[backupList](t, mustCLI(t, exitOK, envA, append([]string{"backup", "list", "-o", "json"}, args...)...).stdout).Backups {
			out = append(out, m.ID)
		}
		return out
	}
	if got := strings.Join(ids("--kind", "postgres", "--database", a.Name), ","); got != a2.ID+","+a1.ID {
		t.Errorf("list --database A: %s", got)
	}
	if got := strings.Join(ids("--database", bdb.Name), ","); got != b1.ID {
		t.Errorf("list --database B: %s", got)
	}
	if got := ids("--kind", "influx"); len(got) != 0 {
		t.Errorf("list --kind influx: %v", got)
	}
	if got := ids(); len(got) != 3 {
		t.Errorf("list: %v", got)
	}
	r := mustCLI(t, exitUsage, envA, "backup", "list", "--kind", "postgress")
	if !strings.Contains(r.stderr, `"postgress"`) || !strings.Contains(r.stderr, "postgres, influx, physical") || r.stdout != "" {
		t.Errorf("--kind typo: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	mustCLI(t, exitUsage, envA, "backup", "info", "--kind", "pg")
	if r := mustCLI(t, exitOK, envA, "backup", "list", "--database", "nope"); !strings.Contains(r.stdout, "backups exist for "+strings.Join(slices.Sorted(slices.Values([]string{a.Name, bdb.Name})), ", ")) {
		t.Errorf("list of a database without backups does not name the others:\n%s", r.stdout)
	}

	// verify latest: A's newest, recorded beside its manifest.
	v := decodeJSON[backup.VerifyResult](t, mustCLI(t, exitOK, envA, "backup", "verify", "latest", "-o", "json").stdout)
	if v.ID != a2.ID || !v.OK {
		t.Fatalf("verify latest: %+v, want %s", v, a2.ID)
	}
	rec := readVerification(t, s3, a2.ID)
	if rec.ID != a2.ID || rec.Method != "objects" || !rec.OK {
		t.Fatalf("verification record of %s: %+v", a2.ID, rec)
	}
	if v := decodeJSON[backup.VerifyResult](t, mustCLI(t, exitOK, envA, "backup", "verify", "latest", "--database", bdb.Name, "-o", "json").stdout); v.ID != b1.ID {
		t.Errorf("verify latest --database B: %s, want %s", v.ID, b1.ID)
	}

	// restore postgres latest --verify: A's newest, its row counts, recorded.
	dst := testenv.Postgres(t)
	res := decodeJSON[backup.RestoreResult](t, mustCLI(t, exitOK, envA, "restore", "postgres", "latest", "--target-database-url", dst.URL, "--verify", "-o", "json").stdout)
	if res.ID != a2.ID || res.Check == nil || !res.Check.OK || countRows(t, dst.URL, "SELECT count(*) FROM t") != 700 {
		t.Fatalf("restore latest: %+v", res)
	}
	if rec := readVerification(t, s3, a2.ID); rec.Method != "restore" || !rec.OK || rec.Target != dst.Name {
		t.Fatalf("verification record after restore --verify: %+v", rec)
	}

	// info: the figures of the objects in the bucket, and the last verification.
	info := decodeJSON[backupInfoResult](t, mustCLI(t, exitOK, envA, "backup", "info", "-o", "json").stdout)
	if len(info.Groups) != 2 {
		t.Fatalf("info groups: %+v", info.Groups)
	}
	ga, gb := info.Groups[0], info.Groups[1]
	if ga.Database != a.Name {
		ga, gb = gb, ga
	}
	if ga.Kind != "postgres" || ga.Count != 2 || ga.Newest.ID != a2.ID || ga.Oldest.ID != a1.ID ||
		ga.TotalBytes != bucketBytes(t, s3, a1, a2) || ga.Newest.Bytes != bucketBytes(t, s3, a2) {
		t.Errorf("info for A: %+v; bucket has %d bytes", ga, bucketBytes(t, s3, a1, a2))
	}
	if age := ga.Newest.AgeSeconds; age < 0 || age > info.CheckedAt.Sub(a2.FinishedAt).Seconds()+1 {
		t.Errorf("age of A's newest: %v", age)
	}
	if lv := ga.LastVerification; lv == nil || lv.ID != a2.ID || lv.Method != "restore" || !lv.OK {
		t.Errorf("A's last verification: %+v", lv)
	}
	if gb.Count != 1 || gb.TotalBytes != bucketBytes(t, s3, b1) || gb.LastVerification == nil || gb.LastVerification.ID != b1.ID {
		t.Errorf("info for B: %+v", gb)
	}
	if text := mustCLI(t, exitOK, envA, "backup", "info").stdout; !strings.Contains(text, "ok (restore)") || !strings.Contains(text, a2.ID) {
		t.Errorf("info text:\n%s", text)
	}
	if only := decodeJSON[backupInfoResult](t, mustCLI(t, exitOK, envA, "backup", "info", "--database", bdb.Name, "-o", "json").stdout); len(only.Groups) != 1 || only.Groups[0].Database != bdb.Name {
		t.Errorf("info --database B: %+v", only.Groups)
	}

	// A damaged newest backup: verify latest keeps failing on it (exit 3, recorded), info says so,
	// and restore latest passes over it to the older one, with a warning naming it.
	client, _ := s3.Client()
	if _, err := client.PutObject(t.Context(), s3.Bucket, "quantx-db/"+a2.Key, strings.NewReader("garbage"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := decodeJSON[backup.VerifyResult](t, mustCLI(t, exitCheck, envA, "backup", "verify", "latest", "-o", "json").stdout); v.ID != a2.ID || v.OK {
		t.Fatalf("verify latest of the damaged backup: %+v", v)
	}
	if rec := readVerification(t, s3, a2.ID); rec.OK || rec.Method != "objects" || len(rec.Problems) == 0 {
		t.Fatalf("failed verification record: %+v", rec)
	}
	info = decodeJSON[backupInfoResult](t, mustCLI(t, exitOK, envA, "backup", "info", "--database", a.Name, "-o", "json").stdout)
	if lv := info.Groups[0].LastVerification; lv == nil || lv.OK || lv.ID != a2.ID {
		t.Errorf("info after the failed verification: %+v", lv)
	}
	dst2 := testenv.Postgres(t)
	r = mustCLI(t, exitOK, envA, "restore", "postgres", "latest", "--target-database-url", dst2.URL, "--verify", "-o", "json")
	if res := decodeJSON[backup.RestoreResult](t, r.stdout); res.ID != a1.ID || countRows(t, dst2.URL, "SELECT count(*) FROM t") != 500 {
		t.Fatalf("restore latest past the damaged backup: %+v", res)
	}
	if !strings.Contains(r.stderr, a2.ID) || !strings.Contains(r.stderr, "verification failed") {
		t.Errorf("no warning naming the skipped backup: %q", r.stderr)
	}

	// No backup for latest: exit 1 naming kind and database (and the databases that have some);
	// no database to choose by: exit 2; --database with an ID: exit 2.
	r = mustCLI(t, exitFailure, envA, "backup", "verify", "latest", "--database", "nope")
	if !strings.Contains(r.stderr, "no postgres backup of database nope") || !strings.Contains(r.stderr, a.Name) || !strings.Contains(r.stderr, "hint:") {
		t.Errorf("verify latest of a database without backups: %q", r.stderr)
	}
	r = mustCLI(t, exitFailure, envA, "backup", "verify", "latest", "--kind", "influx")
	if !strings.Contains(r.stderr, "no influx backup of database quantx_db") || !strings.Contains(r.stderr, "backup influx") {
		t.Errorf("verify latest --kind influx: %q", r.stderr)
	}
	r = mustCLI(t, exitFailure, with(envA, "QUANTX_INFLUX_RPC", "127.0.0.1:1"), "restore", "influx", "latest", "--new-database", "x")
	if !strings.Contains(r.stderr, "no influx backup of database quantx_db") {
		t.Errorf("restore influx latest without influx backups: %q", r.stderr)
	}
	r = mustCLI(t, exitFailure, envA, "restore", "postgres", "latest", "--database", "nope", "--target-database-url", dst2.URL)
	if !strings.Contains(r.stderr, "no postgres backup of database nope") {
		t.Errorf("restore postgres latest of a database without backups: %q", r.stderr)
	}
	r = mustCLI(t, exitUsage, with(envA, "QUANTX_DATABASE_URL", ""), "backup", "verify", "latest")
	if !strings.Contains(r.stderr, "--database") || !strings.Contains(r.stderr, a.Name) {
		t.Errorf("verify latest without a database: %q", r.stderr)
	}
	mustCLI(t, exitUsage, envA, "backup", "verify", a1.ID, "--database", a.Name)
	mustCLI(t, exitUsage, envA, "backup", "verify", "latest", "--kind", "physical")
}

// readVerification reads the verification record beside a backup's manifest, straight from the
// bucket.
func readVerification(t *testing.T, b *testenv.S3Bucket, id string) backup.Verification {
	t.Helper()
	c, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(t.Context(), b.Bucket, "quantx-db/backups/"+id+"/verification.json", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	var v backup.Verification
	if err := json.NewDecoder(obj).Decode(&v); err != nil {
		t.Fatalf("verification record of %s: %v", id, err)
	}
	return v
}

// bucketBytes sums the sizes, as the bucket reports them, of the objects of the given backups.
func bucketBytes(t *testing.T, b *testenv.S3Bucket, ms ...backup.Manifest) int64 {
	t.Helper()
	c, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, m := range ms {
		for _, o := range m.Objects {
			st, err := c.StatObject(t.Context(), b.Bucket, "quantx-db/"+o.Key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n += st.Size
		}
	}
	return n
}

// TestBackupFreshnessInflux: InfluxDB database A is backed up, then B. status with
// --influx-database A reports A's backup, and 'restore influx latest --database A' restores A's
// points (not B's, the newest influx backup).
func TestBackupFreshnessInflux(t *testing.T) {
	t.Parallel()
	in := testenv.NewInflux(t) // private: a restore races with other tests' writes (see NewInflux)
	s3 := testenv.S3(t)
	env := map[string]string{"QUANTX_INFLUX_URL": in.URL, "QUANTX_INFLUX_TOKEN": in.Token, "QUANTX_INFLUX_RPC": in.RPC,
		"QUANTX_S3_ENDPOINT": s3.Endpoint, "QUANTX_S3_ACCESS_KEY": s3.AccessKey, "QUANTX_S3_SECRET_KEY": s3.SecretKey,
		"QUANTX_S3_BUCKET": s3.Bucket, "HOME": homeDir(t), "QUANTX_PGBACKREST_CONFIG": filepath.Join(t.TempDir(), "none.conf")}
	dbA, dbB, restored := in.Database, in.Database+"_b", in.Database+"_r"
	t.Cleanup(func() {
		for _, db := range []string{dbB, restored} {
			in.Query(context.Background(), `DROP DATABASE "`+db+`"`)
		}
	})
	for db, points := range map[string]int{dbA: 30, dbB: 5} {
		if err := in.Query(t.Context(), `CREATE DATABASE "`+db+`"`); err != nil {
			t.Fatal(err)
		}
		var lines strings.Builder
		for i := range points {
			fmt.Fprintf(&lines, "ticks price=%d %d\n", i, time.Now().Add(-time.Duration(i)*time.Minute).UnixNano())
		}
		if err := in.Client.Write(t.Context(), db+"/autogen", "", []byte(lines.String())); err != nil {
			t.Fatal(err)
		}
	}
	backupA := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, env, "backup", "influx", "--database", dbA, "-o", "json").stdout)
	backupB := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, env, "backup", "influx", "--database", dbB, "-o", "json").stdout)

	st := decodeJSON[statusDoc](t, mustCLI(t, exitOK, env, "status", "--exit-code=false", "-o", "json", "--influx-database", dbA).stdout)
	if got := statusItem(st, "s3", "backup influx"); got.State != "ok" || !strings.Contains(got.Detail, backupA.ID) {
		t.Fatalf("status for A: %+v; want A's backup %s (B's %s is newer)", got, backupA.ID, backupB.ID)
	}
	res := decodeJSON[backup.RestoreResult](t, mustCLI(t, exitOK, env, "restore", "influx", "latest", "--database", dbA, "--new-database", restored, "-o", "json").stdout)
	if res.ID != backupA.ID {
		t.Fatalf("restore influx latest --database A restored %s, want %s", res.ID, backupA.ID)
	}
	series, err := in.Client.Query(t.Context(), influxclient.Query{Statement: `SELECT count(price) FROM "` + restored + `".."ticks"`})
	if err != nil || len(series) != 1 || len(series[0].Values) != 1 || fmt.Sprint(series[0].Col(series[0].Values[0], "count")) != "30" {
		t.Fatalf("restored points: %+v (%v), want a count of 30", series, err)
	}
}
