package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/internal/testenv"
)

// abandonUpload starts a multipart upload of key (full key in the bucket),
// stores one part and walks away, as a killed run does.
func abandonUpload(t *testing.T, b *testenv.S3Bucket, key string) {
	t.Helper()
	c, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: c}
	id, err := core.NewMultipartUpload(t.Context(), b.Bucket, key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(t.Context(), b.Bucket, key, id, 1, bytes.NewReader([]byte("part")), 4, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
}

// incompleteUploads lists the keys of every incomplete upload in the bucket.
func incompleteUploads(t *testing.T, b *testenv.S3Bucket) []string {
	t.Helper()
	c, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for u := range c.ListIncompleteUploads(context.Background(), b.Bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		keys = append(keys, u.Key)
	}
	slices.Sort(keys)
	return keys
}

// TestStaleUploadsSweptUnderBothPrefixes leaves real incomplete uploads under
// the backup prefix and the retention archive prefix, and checks that prune,
// retention apply and a backup each sweep both once they are stale, and leave
// a fresh one (a concurrent run's) alone.
func TestStaleUploadsSweptUnderBothPrefixes(t *testing.T) {
	t.Parallel()
	env, db, b := backupEnv(t)
	if r := runCLI(t, env, "migrate", "up"); r.code != exitOK {
		t.Fatalf("migrate up: %s", r.stderr)
	}
	leftovers := []string{
		"quantx-db/archive/postgres/" + db.Name + "/activity_logs/activity_logs_y2024m01.csv.gz",
		"quantx-db/backups/20260101T000000Z-postgres-" + db.Name + "-abcdef/" + db.Name + ".pgdump",
	}
	leave := func() {
		for _, k := range leftovers {
			abandonUpload(t, b, k)
		}
		if got := incompleteUploads(t, b); !slices.Equal(got, leftovers) {
			t.Fatalf("set-up: incomplete uploads %v", got)
		}
	}

	leave()
	// Fresh uploads survive the default --stale-after (15m): they may be a running backup's.
	if r := runCLI(t, env, "backup", "prune", "--keep-last", "3", "--yes"); r.code != exitOK {
		t.Fatalf("prune: exit %d: %s", r.code, r.stderr)
	}
	if got := incompleteUploads(t, b); len(got) != 2 {
		t.Fatalf("prune aborted fresh uploads: left %v", got)
	}
	r := runCLI(t, env, "backup", "prune", "--keep-last", "3", "--stale-after", "0s", "--yes", "-o", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, "activity_logs_y2024m01.csv.gz") {
		t.Fatalf("prune --stale-after 0s: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if got := incompleteUploads(t, b); len(got) != 0 {
		t.Fatalf("after prune: incomplete uploads %v", got)
	}

	leave()
	r = runCLI(t, env, "retention", "apply", "--yes", "--stale-after", "0s")
	if r.code != exitOK || !strings.Contains(r.stdout, "aborted 2 stale incomplete upload(s)") {
		t.Fatalf("retention apply: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if got := incompleteUploads(t, b); len(got) != 0 {
		t.Fatalf("after retention apply: incomplete uploads %v", got)
	}

	leave()
	if r := runCLI(t, env, "backup", "postgres", "--stale-after", "0s"); r.code != exitOK {
		t.Fatalf("backup postgres: exit %d: %s", r.code, r.stderr)
	}
	if got := incompleteUploads(t, b); len(got) != 0 {
		t.Fatalf("after backup postgres: incomplete uploads %v", got)
	}
}
