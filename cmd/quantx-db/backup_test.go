package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/internal/testenv"
)

func backupEnv(t *testing.T) (map[string]string, *testenv.PGDatabase, *testenv.S3Bucket) {
	t.Helper()
	db := testenv.Postgres(t)
	b := testenv.S3(t)
	return map[string]string{"QUANTX_DATABASE_URL": db.URL, "QUANTX_S3_ENDPOINT": b.Endpoint, "QUANTX_S3_ACCESS_KEY": b.AccessKey,
		"QUANTX_S3_SECRET_KEY": b.SecretKey, "QUANTX_S3_BUCKET": b.Bucket}, db, b
}

type listDoc struct {
	Backups []struct {
		ID          string           `json:"id"`
		Kind        string           `json:"kind"`
		Key         string           `json:"key"`
		TableCounts map[string]int64 `json:"table_counts"`
	} `json:"backups"`
}

func listBackups(t *testing.T, env map[string]string) listDoc {
	t.Helper()
	r := runCLI(t, env, "backup", "list", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("backup list: exit %d: %s", r.code, r.stderr)
	}
	var doc listDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("list json: %v\n%s", err, r.stdout)
	}
	return doc
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRestoreCLI(t *testing.T) {
	t.Parallel()
	env, db, b := backupEnv(t)
	execSQL(t, db.URL, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g`)
	r := runCLI(t, env, "backup", "postgres", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("backup postgres: exit %d: %s", r.code, r.stderr)
	}
	doc := listBackups(t, env)
	if len(doc.Backups) != 1 || doc.Backups[0].TableCounts["public.t"] != 1000 {
		t.Fatalf("list: %+v", doc)
	}
	id := doc.Backups[0].ID
	if r := runCLI(t, env, "backup", "verify", id); r.code != exitOK || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("verify: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}

	// Restore refused into a non-empty target without --yes (exit 2), done into an empty one.
	if r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", db.URL); r.code != exitUsage || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("restore into non-empty: exit %d: %s", r.code, r.stderr)
	}
	dst := testenv.Postgres(t)
	if r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst.URL, "--verify", "-o", "json"); r.code != exitOK {
		t.Fatalf("restore: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst.URL, "--yes", "--verify"); r.code != exitOK {
		t.Fatalf("restore over with --yes: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "restore", "postgres", "20991231T000000Z-postgres-nope-abcdef", "--target-database-url", dst.URL); r.code != exitUsage {
		t.Fatalf("restore unknown id: exit %d: %s", r.code, r.stderr)
	}

	// Corrupt the object: verify exits 3.
	c, _ := b.Client()
	key := "quantx-db/" + doc.Backups[0].Key
	if _, err := c.PutObject(t.Context(), b.Bucket, key, strings.NewReader("garbage"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, env, "backup", "verify", id); r.code != exitCheck {
		t.Fatalf("verify of a corrupted backup: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}

	// Prune: dry run changes nothing; the newest is always kept.
	if r := runCLI(t, env, "backup", "postgres"); r.code != exitOK {
		t.Fatalf("second backup: %s", r.stderr)
	}
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "1", "--dry-run"); r.code != exitOK || len(listBackups(t, env).Backups) != 2 {
		t.Fatalf("prune dry run: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "1"); r.code != exitUsage {
		t.Fatalf("prune without --yes off a terminal: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "1", "--yes"); r.code != exitOK {
		t.Fatalf("prune: exit %d: %s", r.code, r.stderr)
	}
	if after := listBackups(t, env); len(after.Backups) != 1 || after.Backups[0].ID == id {
		t.Fatalf("after prune: %+v", after)
	}
}

func TestBackupErrorsCLI(t *testing.T) {
	t.Parallel()
	env, _, b := backupEnv(t)
	tests := []struct {
		name   string
		edit   map[string]string
		code   int
		stderr string
	}{
		{"wrong secret key", map[string]string{"QUANTX_S3_SECRET_KEY": "wrong"}, exitFailure, "credentials rejected"},
		{"unknown access key", map[string]string{"QUANTX_S3_ACCESS_KEY": "nobody"}, exitFailure, "credentials rejected"},
		{"missing bucket", map[string]string{"QUANTX_S3_BUCKET": b.Bucket + "-missing"}, exitFailure, "bucket does not exist"},
		{"no bucket configured", map[string]string{"QUANTX_S3_BUCKET": ""}, exitUsage, "no S3 bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range tt.edit {
				e[k] = v
			}
			r := runCLI(t, e, "backup", "postgres")
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stderr, "hint:") {
				t.Fatalf("exit %d, stderr %q; want %d and %q with a hint", r.code, r.stderr, tt.code, tt.stderr)
			}
			if strings.Contains(r.stderr, b.SecretKey) {
				t.Fatal("secret key printed")
			}
		})
	}
	// pg_dump of another major version: a stub in --pg-bindir.
	bin := t.TempDir()
	for _, tool := range []string{"pg_dump", "pg_dumpall"} {
		os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 16.4'\n"), 0o755)
	}
	r := runCLI(t, env, "backup", "postgres", "--pg-bindir", bin)
	if r.code != exitFailure || !strings.Contains(r.stderr, "server is PostgreSQL 15") || !strings.Contains(r.stderr, "16.4") {
		t.Fatalf("version mismatch: exit %d: %s", r.code, r.stderr)
	}
}

// TestBackupKilledMidUpload kills quantx-db with SIGKILL while the dump is uploading: no backup may be
// listed, and the next run and prune must leave no incomplete multipart upload.
func TestBackupKilledMidUpload(t *testing.T) {
	t.Parallel()
	env, db, b := backupEnv(t)
	// About 150 MB of poorly compressible rows: with -Z9 the dump streams for several seconds.
	execSQL(t, db.URL, `CREATE TABLE big AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS a
		FROM generate_series(1, 1200000) g`)
	c, _ := b.Client()
	bin := binary(t)
	cmd := exec.CommandContext(t.Context(), bin, "backup", "postgres", "--compress", "9")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once a multipart upload is under way (its first 16 MiB part has been sent).
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := 0
		for u := range c.ListIncompleteUploads(t.Context(), b.Bucket, "quantx-db/backups/", true) {
			if u.Err == nil {
				n++
			}
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no upload seen within 60s; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("backup was not killed (finished first?): %v; stderr: %s", err, stderr.String())
	}
	if doc := listBackups(t, env); len(doc.Backups) != 0 {
		t.Fatalf("a killed backup is listed: %+v", doc)
	}
	incomplete := func() int {
		n := 0
		for u := range c.ListIncompleteUploads(context.Background(), b.Bucket, "", true) {
			if u.Err == nil {
				n++
			}
		}
		return n
	}
	if incomplete() == 0 {
		t.Fatal("no incomplete upload left by the killed run: the test proves nothing")
	}
	// pg_dump was a child of the killed process: wait until it has gone too (its pipe is broken).
	time.Sleep(200 * time.Millisecond)

	// The next run aborts the orphan (idle for longer than --stale-after 0s).
	small := testenv.Postgres(t)
	env2 := map[string]string{}
	for k, v := range env {
		env2[k] = v
	}
	env2["QUANTX_DATABASE_URL"] = small.URL
	if r := runCLI(t, env2, "backup", "postgres", "--stale-after", "0s"); r.code != exitOK {
		t.Fatalf("next backup: exit %d: %s", r.code, r.stderr)
	}
	if n := incomplete(); n != 0 {
		t.Fatalf("%d incomplete upload(s) after the next run", n)
	}
	// prune removes the killed run's manifest-less folder (its globals.sql).
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "5", "--stale-after", "0s", "--yes", "-o", "json"); r.code != exitOK || !strings.Contains(r.stdout, `"orphans": [`) {
		t.Fatalf("prune: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	doc := listBackups(t, env)
	if len(doc.Backups) != 1 {
		t.Fatalf("after prune: %+v", doc)
	}
	n := 0
	for o := range c.ListObjects(context.Background(), b.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if !strings.Contains(o.Key, doc.Backups[0].ID) {
			t.Errorf("left behind: %s", o.Key)
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d objects in the bucket, want the 3 of the one backup", n)
	}
}
