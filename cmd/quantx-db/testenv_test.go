package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/testenv"
)

// TestTestenvLocalProvider brings up a second, private PostgreSQL through the
// embedded scripts/services (its own cache, run folder and port, so the
// shared test servers are untouched), checks that the printed stack is
// migrated, then takes it down.
func TestTestenvLocalProvider(t *testing.T) {
	testenv.Tool(t, "postgres", "postgres") // the embedded scripts/services needs PostgreSQL 15's binaries
	// Not t.TempDir(): its parent is 0700 and the postgres user must traverse to its data folder.
	dir, err := os.MkdirTemp("/var/tmp", "quantx-testenv-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	env := map[string]string{
		"QUANTX_CACHE": filepath.Join(dir, "cache"), "QUANTX_RUN": filepath.Join(dir, "run"), "QUANTX_PG_PORT": "55471",
	}
	t.Cleanup(func() { runCLI(t, env, "testenv", "down", "--provider", "local", "--services", "postgres") })

	r := runCLI(t, env, "testenv", "up", "--provider", "local", "--services", "postgres")
	if r.code != exitOK {
		t.Fatalf("testenv up: %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "export QUANTX_DATABASE_URL='postgres://postgres@127.0.0.1:55471/quantx") {
		t.Fatalf("up printed no usable export line:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "postgres:") && !strings.HasPrefix(strings.TrimSpace(r.stdout), "export ") {
		t.Fatalf("server output leaked into stdout:\n%s", r.stdout)
	}
	e := runCLI(t, env, "testenv", "env", "-o", "json")
	doc := decodeJSON[testenvResult](t, e.stdout)
	url := doc.Env["QUANTX_DATABASE_URL"]
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	err = conn.QueryRow(t.Context(), "SELECT version FROM schema_migrations").Scan(&v)
	conn.Close(context.Background())
	if err != nil || v < 8 {
		t.Fatalf("stack not migrated: version %d, %v", v, err)
	}
	if r := runCLI(t, env, "testenv", "down", "--provider", "local", "--services", "postgres"); r.code != exitOK {
		t.Fatalf("down: %d %s", r.code, r.stderr)
	}
	if c, err := pgx.Connect(t.Context(), url); err == nil {
		c.Close(context.Background())
		t.Fatal("PostgreSQL still answers after testenv down")
	}
}
