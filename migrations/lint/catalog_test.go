package lint

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite pg_functions.txt from the test server")

// TestFunctionVolatilityMatchesServer keeps pg_functions.txt (which default
// expressions rewrite the table, which index expressions PostgreSQL refuses)
// equal to the server's own pg_proc.
func TestFunctionVolatilityMatchesServer(t *testing.T) {
	db := testenv.Postgres(t)
	conn, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := conn.Query(t.Context(), `SELECT proname, CASE WHEN bool_or(provolatile = 'v') THEN 'v'
		WHEN bool_or(provolatile = 's') THEN 's' ELSE 'i' END
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE nspname = 'pg_catalog' GROUP BY proname ORDER BY proname COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	header := strings.SplitAfterN(pgFunctions, "\n", 4)
	var sb strings.Builder
	sb.WriteString(strings.Join(header[:3], ""))
	for rows.Next() {
		var name, v string
		if err := rows.Scan(&name, &v); err != nil {
			t.Fatal(err)
		}
		sb.WriteString(name + " " + v + "\n")
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if *update {
		if err := os.WriteFile("pg_functions.txt", []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if sb.String() != pgFunctions {
		t.Fatal("pg_functions.txt differs from the server's pg_proc: go test ./migrations/lint -run TestFunctionVolatilityMatchesServer -update")
	}
}

// TestBuiltinVolatilityLookup: every name of pg_functions.txt is found with its
// volatility by the binary search, in a file sorted in byte order, and names
// between, before and after them are not.
func TestBuiltinVolatilityLookup(t *testing.T) {
	prev, n := "", 0
	for _, line := range strings.Split(pgFunctions, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, v, _ := strings.Cut(line, " ")
		if name <= prev {
			t.Fatalf("pg_functions.txt is not sorted: %q after %q", name, prev)
		}
		if got, ok := builtinVolatility(name); !ok || got != v[0] {
			t.Errorf("%s: %c %v, want %s", name, got, ok, v)
		}
		if _, ok := builtinVolatility(name + "\x00"); ok {
			t.Errorf("%s\\x00 found", name)
		}
		prev, n = name, n+1
	}
	if n < 2000 {
		t.Fatalf("only %d functions", n)
	}
	for _, name := range []string{"", "A", "now_", "zzz", "~"} {
		if _, ok := builtinVolatility(name); ok {
			t.Errorf("%q found", name)
		}
	}
	if v, _ := builtinVolatility("now"); v != 's' {
		t.Errorf("now() is %c, want s", v)
	}
	if v, _ := builtinVolatility("random"); v != 'v' {
		t.Errorf("random() is %c, want v", v)
	}
}
