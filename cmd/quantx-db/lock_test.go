package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/migrations"
)

// holdMigrationLock holds the migration lock of db as another quantx-db run
// would, through the key every release derives, until the test ends.
func holdMigrationLock(t *testing.T, url string) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	l := pglock.NewLock("quantx-db/migrations:public.schema_migrations", "migration lock")
	if err := pglock.Acquire(t.Context(), c.Conn(), l, pglock.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pglock.Release(context.Background(), c, l) })
}

// TestMigrateExitsFourWhileLocked: a held migration lock exits 4 with the
// lock named and a hint, after --lock-wait; --lock-wait 0 tries once (it
// used to mean the library's 60 s default).
func TestMigrateExitsFourWhileLocked(t *testing.T) {
	t.Parallel()
	env, db := dbEnv(t)
	holdMigrationLock(t, db.URL)
	start := time.Now()
	r := runCLI(t, env, "migrate", "up", "--lock-wait", "300ms")
	if r.code != exitLocked || !strings.Contains(r.stderr, "another runner holds the migration lock (waited 300ms)") || !strings.Contains(r.stderr, "hint: another quantx-db holds the migration lock") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("gave up after %s, before --lock-wait", el)
	}
	start = time.Now()
	r = runCLI(t, env, "migrate", "up", "--lock-wait", "0", "-o", "json")
	if r.code != exitLocked || !strings.Contains(r.stdout, `"exit_code": 4`) {
		t.Fatalf("--lock-wait 0: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("--lock-wait 0 took %s: it must try once", el)
	}
	if n := countTables(t, db.URL); n != 0 {
		t.Errorf("%d tables: a run that did not get the lock changed the database", n)
	}
}

// TestMigrateLockTimeoutExitsFour: a migration that never gets its table
// lock within --lock-timeout, on every --lock-retries attempt, is rolled
// back and exits 4, naming the file and the attempts.
func TestMigrateLockTimeoutExitsFour(t *testing.T) {
	t.Parallel()
	env, db := dbEnv(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"0001_t.up.sql": "CREATE TABLE t (id int);\n", "0001_t.down.sql": "DROP TABLE t;\n",
		"0002_c.up.sql": "ALTER TABLE t ADD COLUMN c int;\n", "0002_c.down.sql": "ALTER TABLE t DROP COLUMN c;\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := runCLI(t, env, "migrate", "up", "1", "--source", dir); r.code != exitOK {
		t.Fatalf("up 1: %d %s", r.code, r.stderr)
	}
	reader := connect(t, db.URL)
	tx, err := reader.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), "SELECT * FROM t"); err != nil { // a long report holds ACCESS SHARE
		t.Fatal(err)
	}
	r := runCLI(t, env, "migrate", "up", "--source", dir, "--lock-timeout", "100ms", "--lock-retries", "1")
	if r.code != exitLocked || !strings.Contains(r.stderr, "0002_c.up.sql:1") || !strings.Contains(r.stderr, "lock not granted within lock_timeout after 2 attempt(s)") ||
		!strings.Contains(r.stderr, "rolled back") || !strings.Contains(r.stderr, "hint: a long transaction holds a lock") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var v int64
	var dirty bool
	if err := connect(t, db.URL).QueryRow(t.Context(), "SELECT version, dirty FROM schema_migrations").Scan(&v, &dirty); err != nil || v != 1 || dirty {
		t.Fatalf("version %d dirty %v (%v), want 1, clean", v, dirty, err)
	}
	_ = tx.Rollback(t.Context())
	if r := runCLI(t, env, "migrate", "up", "--source", dir); r.code != exitOK {
		t.Fatalf("up once the report ended: %d %s", r.code, r.stderr)
	}
}

// TestLockSentinelsAreShared: a held lock of either library is ErrLocked of
// both, so stack and the CLI need one test.
func TestLockSentinelsAreShared(t *testing.T) {
	if migrations.ErrLocked != pglock.ErrLocked || migrations.ErrLockTimeout != pglock.ErrLockTimeout {
		t.Fatal("migrations' lock sentinels are not pglock's")
	}
}
