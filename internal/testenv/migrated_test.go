package testenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quantx/quantx-db/migrations"
)

func adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), PostgresAdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryOne[T any](t *testing.T, url, sql string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v T
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// TestMigratedPostgres: each call is a database of its own at the asked
// version, made from a template that refuses connections and has none.
func TestMigratedPostgres(t *testing.T) {
	t.Parallel()
	ms, err := migrations.Load(migrations.Files())
	if err != nil {
		t.Fatal(err)
	}
	newest := int64(ms[len(ms)-1].Version)
	a, b, old := MigratedPostgres(t, 0), MigratedPostgres(t, 0), MigratedPostgres(t, 3)
	for _, c := range []struct {
		db   *PGDatabase
		want int64
	}{{a, newest}, {b, newest}, {old, 3}} {
		if v := queryOne[int64](t, c.db.URL, "SELECT version FROM schema_migrations WHERE NOT dirty"); v != c.want {
			t.Errorf("%s: version %d, want %d", c.db.Name, v, c.want)
		}
	}
	if n := queryOne[int64](t, old.URL, "SELECT count(*) FROM pg_tables WHERE tablename = 'activity_logs'"); n != 0 {
		t.Error("version 3 has activity_logs: the template is not the one asked for")
	}
	conn := adminConn(t)
	aConn, err := pgx.Connect(t.Context(), a.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer aConn.Close(context.Background())
	if _, err := aConn.Exec(t.Context(), "CREATE TABLE only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	if n := queryOne[int64](t, b.URL, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); n != 0 {
		t.Error("two migrated databases share a table")
	}
	for _, v := range []uint64{0, 3} {
		tpl, err := templates.get(a.AdminURL, v)
		if err != nil {
			t.Fatal(err)
		}
		var allow bool
		var sessions int
		if err := conn.QueryRow(t.Context(), `SELECT datallowconn, (SELECT count(*) FROM pg_stat_activity WHERE datname = $1)
			FROM pg_database WHERE datname = $1`, tpl).Scan(&allow, &sessions); err != nil {
			t.Fatalf("template %s: %v", tpl, err)
		}
		if allow || sessions != 0 {
			t.Errorf("template %s: allows connections %v, %d session(s); want none ever", tpl, allow, sessions)
		}
		if !strings.HasPrefix(tpl, fmt.Sprintf("qxtpl_v%d_", map[uint64]int64{0: newest, 3: 3}[v])) {
			t.Errorf("template name %s does not say its version", tpl)
		}
	}
}

// testTemplates is a template set of its own: a name no other test or
// binary uses, dropped when the test ends.
func testTemplates(t *testing.T) *templateSet {
	t.Helper()
	tag := strings.ToLower(rand.Text()[:10])
	s := &templateSet{byV: map[uint64]*templateOnce{}, hash: func() (string, error) { return "test" + tag, nil }}
	t.Cleanup(func() {
		name := fmt.Sprintf("%sv2_test%s", templatePrefix, tag)
		if err := pgExec(PostgresAdminURL(t), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return s
}

// TestTemplateBuildersSerialise: builders in several processes (here:
// several template sets, each with its own sync.Once) that start together
// build the template once; every one gets its name, and no builder's
// temporary database is left.
func TestTemplateBuildersSerialise(t *testing.T) {
	t.Parallel()
	admin := PostgresAdminURL(t)
	first := testTemplates(t)
	sets := []*templateSet{first}
	for range 3 {
		sets = append(sets, &templateSet{byV: map[uint64]*templateOnce{}, hash: first.hash})
	}
	names := make([]string, len(sets))
	errs := make([]error, len(sets))
	var wg sync.WaitGroup
	for i, s := range sets {
		wg.Go(func() { names[i], errs[i] = s.get(admin, 2) })
	}
	wg.Wait()
	for i := range sets {
		if errs[i] != nil || names[i] != names[0] {
			t.Fatalf("builder %d: %q, %v; builder 0: %q", i, names[i], errs[i], names[0])
		}
	}
	conn := adminConn(t)
	var built string
	if err := conn.QueryRow(t.Context(), "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", names[0]).Scan(&built); err != nil || !strings.HasPrefix(built, templateFormat+"; built ") {
		t.Fatalf("template comment %q (%v)", built, err)
	}
	db := newDatabase(t, admin, func(ctx context.Context, c *pgx.Conn, name string) error {
		return cloneTemplate(ctx, c, name, names[0])
	})
	if v := queryOne[int64](t, db.URL, "SELECT version FROM schema_migrations"); v != 2 {
		t.Fatalf("clone at version %d, want 2", v)
	}
}

// TestCloneWaitsForASessionToLeave: CREATE DATABASE ... TEMPLATE fails with
// "being accessed by other users" while a session is connected to the
// source (the server waits 5 s for it first); the helper tries again until
// it has left, instead of failing the test.
func TestCloneWaitsForASessionToLeave(t *testing.T) {
	t.Parallel()
	src := Postgres(t)
	holder, err := pgx.Connect(t.Context(), src.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t)
	name := uniqueName(t, "t_", "_", 63)
	done := make(chan error, 1)
	go func() { done <- cloneTemplate(t.Context(), conn, name, src.Name) }()
	// Leave once the server has refused the clone at least once: the
	// server's own wait is 5 s, so after 7 s it has.
	time.Sleep(7 * time.Second)
	holder.Close(context.Background())
	if err := <-done; err != nil {
		t.Fatalf("clone after the session left: %v", err)
	}
	if err := pgExec(src.AdminURL, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// Without the retry the same situation is an error: the helper's loop is what makes it pass.
	holder2, err := pgx.Connect(t.Context(), src.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer holder2.Close(context.Background())
	_, err = conn.Exec(t.Context(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{src.Name}.Sanitize())
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "55006" {
		t.Fatalf("a clone while a session is connected: %v, want SQLSTATE 55006", err)
	}
}

// TestStaleTemplatesAreDropped: a build drops templates built more than a
// day before and temporary databases left by a dead builder, and keeps
// recent ones.
func TestStaleTemplatesAreDropped(t *testing.T) {
	t.Parallel()
	admin := PostgresAdminURL(t)
	tag := strings.ToLower(rand.Text()[:8])
	mk := func(name string, age time.Duration) {
		t.Helper()
		q := pgx.Identifier{name}.Sanitize()
		if err := pgExec(admin, "CREATE DATABASE "+q); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pgExec(admin, "DROP DATABASE IF EXISTS "+q) })
		comment := fmt.Sprintf("%s; built %s", templateFormat, time.Now().Add(-age).UTC().Format(time.RFC3339))
		if err := pgExec(admin, "COMMENT ON DATABASE "+q+" IS "+quoteLiteral(comment)); err != nil {
			t.Fatal(err)
		}
	}
	oldTpl, newTpl, deadTmp := templatePrefix+"old_"+tag, templatePrefix+"new_"+tag, buildingPrefix+"dead_"+tag
	mk(oldTpl, 25*time.Hour)
	mk(newTpl, time.Hour)
	mk(deadTmp, 2*time.Hour)
	if _, err := testTemplates(t).get(admin, 2); err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t)
	for name, want := range map[string]bool{oldTpl: false, newTpl: true, deadTmp: false} {
		var exists bool
		if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists != want {
			t.Errorf("%s exists = %v, want %v", name, exists, want)
		}
	}
}
