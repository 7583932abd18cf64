package partitions_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
)

// assertIndexComplete checks that index is valid on the parent, and that every
// partition of table has a valid index attached to it.
func assertIndexComplete(t *testing.T, pool *pgxpool.Pool, table, index string) {
	t.Helper()
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass($1) AND indisvalid", index); n != 1 {
		t.Fatalf("parent index %s missing or invalid", index)
	}
	parts := queryInt(t, pool, "SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass($1)", table)
	attached := queryInt(t, pool, `SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid
		WHERE i.inhparent = to_regclass($1) AND x.indisvalid`, index)
	if parts == 0 || attached != parts {
		t.Fatalf("%s: %d valid partition indexes attached, %d partitions", index, attached, parts)
	}
}

func TestCreateIndexOnPartitionedTable(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	exec(t, pool, "INSERT INTO activity_logs (action, resource_type, resource_id, created_at) SELECT 'a', 'order', i::text, now() - i * interval '1 hour' FROM generate_series(1, 2000) i")
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	stmt := "-- why: audit lookups\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_resource ON public.activity_logs USING btree (resource_type, resource_id) WHERE resource_id IS NOT NULL;"
	handled, err := partitions.CreateIndex(t.Context(), conn.Conn(), stmt, partitions.IndexOptions{})
	if err != nil || !handled {
		t.Fatalf("CreateIndex: handled %v, %v", handled, err)
	}
	assertIndexComplete(t, pool, "activity_logs", "idx_t_resource")
	def := queryString(t, pool, "SELECT pg_get_indexdef('idx_t_resource'::regclass)")
	if !strings.Contains(def, "WHERE (resource_id IS NOT NULL)") {
		t.Errorf("index definition lost its predicate: %s", def)
	}
	// Again: nothing to do, still complete.
	if handled, err := partitions.CreateIndex(t.Context(), conn.Conn(), stmt, partitions.IndexOptions{}); err != nil || !handled {
		t.Fatalf("second CreateIndex: handled %v, %v", handled, err)
	}
	assertIndexComplete(t, pool, "activity_logs", "idx_t_resource")
	// A new partition inherits the index.
	if _, err := partitions.New(pool, fastOpts(at(t, "2035-01-01T00:00:00Z"))).Ensure(t.Context(), partitions.EnsureOptions{MonthsAhead: -1}); err != nil {
		t.Fatal(err)
	}
	assertIndexComplete(t, pool, "activity_logs", "idx_t_resource")
}

func TestCreateIndexNotHandled(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, stmt := range []string{
		"CREATE INDEX idx_t_plain ON activity_logs (session_id)",       // not CONCURRENTLY
		"CREATE INDEX CONCURRENTLY ON activity_logs (session_id)",      // unnamed
		"CREATE INDEX CONCURRENTLY idx_t_missing ON no_such_table (x)", // no table
		"ALTER TABLE orders ADD COLUMN x int",
	} {
		handled, err := partitions.CreateIndex(t.Context(), conn.Conn(), stmt, partitions.IndexOptions{})
		if handled || err != nil {
			t.Errorf("%q: handled %v, err %v; want false, nil", stmt, handled, err)
		}
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_class WHERE relname IN ('idx_t_plain', 'idx_t_missing')"); n != 0 {
		t.Errorf("an unhandled statement created %d indexes", n)
	}
}

// TestCreateIndexResumes simulates a build interrupted after the parent index,
// one attached partition index and one partition index whose CONCURRENTLY
// build died half way (left INVALID).
func TestCreateIndexResumes(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	parts := queryStrings(t, pool, "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'activity_logs'::regclass AND inhrelid::regclass::text <> 'activity_logs_default' ORDER BY 1")
	if len(parts) < 2 {
		t.Fatalf("need 2 monthly partitions, have %v", parts)
	}
	exec(t, pool, "CREATE INDEX idx_t_session ON ONLY activity_logs (session_id)")
	exec(t, pool, "CREATE INDEX "+parts[0]+"_idx_t_session ON "+parts[0]+" (session_id)")
	exec(t, pool, "ALTER INDEX idx_t_session ATTACH PARTITION "+parts[0]+"_idx_t_session")
	exec(t, pool, "CREATE INDEX "+parts[1]+"_idx_t_session ON "+parts[1]+" (session_id)")
	exec(t, pool, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = $1::regclass", parts[1]+"_idx_t_session")
	invalidOID := queryInt(t, pool, "SELECT $1::regclass::oid::bigint", parts[1]+"_idx_t_session")

	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	handled, err := partitions.CreateIndex(t.Context(), conn.Conn(), "CREATE INDEX CONCURRENTLY idx_t_session ON activity_logs (session_id)", partitions.IndexOptions{})
	if err != nil || !handled {
		t.Fatalf("resume: handled %v, %v", handled, err)
	}
	assertIndexComplete(t, pool, "activity_logs", "idx_t_session")
	if oid := queryInt(t, pool, "SELECT $1::regclass::oid::bigint", parts[1]+"_idx_t_session"); oid == invalidOID {
		t.Errorf("the invalid leftover index was attached instead of rebuilt")
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%(session_id)%'", parts[0]); n != 1 {
		t.Errorf("%s has %d session_id indexes, want the one already attached", parts[0], n)
	}
}

// TestMigration0009 runs the shipped migration the way the migrations engine
// does: each statement of the no-transaction file through CreateIndex.
func TestMigration0009(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	src := migrations.Files()
	files, err := fs.Glob(src, "0009_*.sql")
	if err != nil || len(files) != 2 {
		t.Fatalf("0009 files: %v %v", files, err)
	}
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	run := func(suffix string) {
		t.Helper()
		for _, f := range files {
			if !strings.HasSuffix(f, suffix) {
				continue
			}
			b, err := fs.ReadFile(src, f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), migrations.NoTransactionDirective+"\n") {
				t.Fatalf("%s does not start with %q", f, migrations.NoTransactionDirective)
			}
			for _, st := range migrations.Split(string(b)) {
				handled, err := partitions.CreateIndex(t.Context(), conn.Conn(), st.SQL, partitions.IndexOptions{})
				if err != nil {
					t.Fatalf("%s line %d: %v", f, st.Line, err)
				}
				if !handled {
					if _, err := conn.Exec(t.Context(), st.SQL); err != nil {
						t.Fatalf("%s line %d: %v", f, st.Line, err)
					}
				}
			}
		}
	}
	run(".up.sql")
	assertIndexComplete(t, pool, "activity_logs", "idx_activity_logs_resource")
	run(".down.sql")
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_class WHERE relname LIKE '%idx_activity_logs_resource%'"); n != 0 {
		t.Errorf("down left %d indexes", n)
	}
	run(".up.sql")
	assertIndexComplete(t, pool, "activity_logs", "idx_activity_logs_resource")
}

func queryString(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func queryStrings(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
