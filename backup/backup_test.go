package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/internal/testenv"
)

// newCatalogue gives the test its own bucket.
func newCatalogue(t *testing.T, o backup.Options) (*backup.Catalogue, *s3store.Store, *testenv.S3Bucket) {
	t.Helper()
	b := testenv.S3(t)
	st, err := s3store.New(t.Context(), s3store.Config{Endpoint: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey,
		Bucket: b.Bucket, Prefix: "quantx-db/"})
	if err != nil {
		t.Fatal(err)
	}
	return backup.New(st, o), st, b
}

// quantxDatabase is a database with the QuantX schema and rows in every table, partitions included.
func quantxDatabase(t *testing.T) *testenv.PGDatabase {
	t.Helper()
	db := testenv.MigratedPostgres(t, 0)
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sample, err := os.ReadFile(filepath.Join("..", "testdata", "constraints", "valid.sql"))
	if err != nil {
		t.Fatalf("sample rows: %v", err)
	}
	if _, err := pool.Exec(ctx, string(sample)); err != nil {
		t.Fatalf("load sample rows: %v", err)
	}
	return db
}

// tableFingerprints is computed independently of the backup package: row count and md5 of all rows'
// text in a fixed order, per table (partitions and the migration tables included).
func tableFingerprints(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		var fp string
		q := "SELECT count(*)::text || ':' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') FROM ONLY " + n + " r"
		if err := conn.QueryRow(ctx, q).Scan(&fp); err != nil {
			t.Fatalf("fingerprint %s: %v", n, err)
		}
		out[n] = fp
	}
	return out
}

func assertSameTables(t *testing.T, want, got map[string]string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("source database has no tables")
	}
	nonEmpty := 0
	for name, w := range want {
		if got[name] != w {
			t.Errorf("table %s: restored %q, source %q", name, got[name], w)
		}
		if w[:2] != "0:" {
			nonEmpty++
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("table %s exists only after restore", name)
		}
	}
	if nonEmpty < 5 {
		t.Errorf("only %d tables had rows: the round trip proves little", nonEmpty)
	}
}
