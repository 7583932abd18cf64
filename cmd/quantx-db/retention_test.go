package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/testenv"
	"github.com/quantx/quantx-db/retention"
)

func TestRetentionShowAndBadPolicy(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "retention", "show")
	if r.code != exitOK || !strings.Contains(r.stdout, "24 months") || !strings.Contains(r.stdout, "7_days_detailed") {
		t.Fatalf("show: exit %d\n%s", r.code, r.stdout)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown-key.yaml":   "postgres:\n  orders:\n    keep: 1y\n    batchsize: 10\n",
		"negative.yaml":      "postgres:\n  activity_logs:\n    keep: -24 months\n",
		"unknown-table.yaml": "postgres:\n  trades:\n    keep: 1y\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"show"}, {"apply", "--dry-run"}} {
			verb := args[0]
			r := runCLI(t, nil, append([]string{"retention", "--policy", path}, args...)...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != exitUsage || len(lines) != 2 || !strings.HasPrefix(lines[0], "quantx-db: "+path+": line ") || !strings.HasPrefix(lines[1], "hint: ") {
				t.Errorf("%s %s: exit %d, stderr %q", verb, name, r.code, r.stderr)
			}
		}
	}
}

func TestRetentionApplyCLI(t *testing.T) {
	t.Parallel()
	env, pool := schemaDB(t)
	env["QUANTX_NOW"] = "2030-06-15T00:00:00Z"
	if r := runCLI(t, env, "partitions", "ensure", "--months-back", "27", "--months-ahead", "0"); r.code != exitOK {
		t.Fatalf("ensure: %s", r.stderr)
	}
	if _, err := pool.Exec(t.Context(), "INSERT INTO activity_logs (action, resource_type, created_at) SELECT 'a', 'r', timestamptz '2028-03-01 00:00:00+00' + i * interval '1 hour' FROM generate_series(0, 999) i"); err != nil {
		t.Fatal(err)
	}
	countParts := func() int64 {
		var n int64
		_ = pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass").Scan(&n)
		return n
	}
	before := countParts()

	// Archiving is on and no S3 is configured: usage error, nothing touched.
	if r := runCLI(t, env, "retention", "apply", "--yes"); r.code != exitUsage || !strings.Contains(r.stderr, "no S3 bucket is configured") {
		t.Fatalf("apply without S3: exit %d %q", r.code, r.stderr)
	}
	// Not a terminal and no --yes: the plan is shown, nothing happens.
	if r := runCLI(t, env, "retention", "apply", "--no-archive"); r.code != exitUsage || !strings.Contains(r.stdout, "would be archived") || countParts() != before {
		t.Fatalf("apply without --yes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b := testenv.S3(t)
	env["QUANTX_S3_ENDPOINT"], env["QUANTX_S3_ACCESS_KEY"], env["QUANTX_S3_SECRET_KEY"], env["QUANTX_S3_BUCKET"] = b.Endpoint, b.AccessKey, b.SecretKey, b.Bucket
	r := runCLI(t, env, "retention", "apply", "--yes", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("apply: exit %d %s", r.code, r.stderr)
	}
	var rep retention.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var archived int64
	for _, p := range rep.Tables[0].Partitions {
		if p.Archive != nil && p.Archive.Verified && p.Dropped {
			archived += p.Archive.Rows
		}
	}
	if archived != 1000 || rep.Tables[1].Table != "orders" || countParts() >= before {
		t.Fatalf("apply archived %d rows; report %s", archived, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, b.SecretKey) {
		t.Fatal("the S3 secret key was printed")
	}
}
