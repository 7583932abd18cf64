package partitions_test

import (
	"errors"
	"testing"

	"github.com/quantx/quantx-db/partitions"
)

func TestParseCreateIndex(t *testing.T) {
	for _, c := range []struct {
		stmt        string
		ok          bool
		name, table string
		schema      string
		conc, ifne  bool
	}{
		{"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON orders (x)", true, "idx_a", "orders", "", true, true},
		{"-- why\ncreate unique index concurrently \"Idx B\" on public.\"Orders\" using btree (x) where y", true, "Idx B", "Orders", "public", true, false},
		{"CREATE INDEX idx_c ON ONLY activity_logs (x);", true, "idx_c", "activity_logs", "", false, false},
		{"CREATE INDEX CONCURRENTLY ON orders (x)", false, "", "", "", false, false}, // unnamed
		{"CREATE INDEX ON orders (x)", false, "", "", "", false, false},
		{"DROP INDEX CONCURRENTLY idx_a", false, "", "", "", false, false},
	} {
		s, ok := partitions.ParseCreateIndex(c.stmt)
		if ok != c.ok || s.Name != c.name || s.TableName != c.table || s.TableSchema != c.schema || s.Concurrently != c.conc || s.IfNotExists != c.ifne {
			t.Errorf("%q: got %+v, %v", c.stmt, s, ok)
		}
	}
	s, _ := partitions.ParseCreateIndex("CREATE INDEX CONCURRENTLY idx_r ON activity_logs (x)")
	if !s.Builds("public", "idx_r", "activity_logs") || !s.Builds("public", "activity_logs_y2027m01_idx_r", "activity_logs_y2027m01") ||
		s.Builds("public", "idx_r", "orders") || s.Builds("public", "idx_other", "activity_logs") {
		t.Error("Builds does not tell the statement's own indexes from others")
	}
}

// TestCreateIndexOnTableReplacesInvalidLeftover: on a regular table an
// INVALID index of the statement's name (what an interrupted or timed-out
// CREATE INDEX CONCURRENTLY leaves, and IF NOT EXISTS would keep for good)
// is dropped and built again; an index of that name on another table is
// never touched.
func TestCreateIndexOnTableReplacesInvalidLeftover(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	exec(t, pool, "CREATE INDEX idx_t_broker ON orders (broker)")
	exec(t, pool, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_t_broker'::regclass")
	leftover := queryInt(t, pool, "SELECT 'idx_t_broker'::regclass::oid::bigint")
	invalid, err := partitions.InvalidIndexes(t.Context(), pool, "public")
	if err != nil || len(invalid) != 1 || invalid[0].Name != "idx_t_broker" || invalid[0].Table != "orders" || invalid[0].Building {
		t.Fatalf("InvalidIndexes = %+v, %v", invalid, err)
	}
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	stmt := "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_broker ON orders (broker)"
	if handled, err := partitions.CreateIndex(t.Context(), conn.Conn(), stmt, partitions.IndexOptions{}); err != nil || !handled {
		t.Fatalf("CreateIndex: handled %v, %v", handled, err)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t_broker'::regclass AND indisvalid AND indexrelid <> $1::bigint::oid", leftover); n != 1 {
		t.Fatal("the INVALID leftover was kept instead of rebuilt")
	}
	if invalid, _ := partitions.InvalidIndexes(t.Context(), pool, ""); len(invalid) != 0 {
		t.Fatalf("still invalid: %+v", invalid)
	}

	// Same name, another table: not ours. The build must fail, not pass over it.
	exec(t, pool, "CREATE INDEX idx_t_elsewhere ON users (email)")
	exec(t, pool, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'idx_t_elsewhere'::regclass")
	_, err = partitions.CreateIndex(t.Context(), conn.Conn(), "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_elsewhere ON orders (broker)", partitions.IndexOptions{})
	if !errors.Is(err, partitions.ErrDrift) {
		t.Fatalf("an index of the name on another table: %v, want ErrDrift", err)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_t_elsewhere'::regclass AND indrelid = 'users'::regclass"); n != 1 {
		t.Fatal("the other table's index was dropped")
	}
}
