package lint

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"reflect"

	"github.com/quantx/quantx-db/migrations"
)

func shippedFiles(b *testing.B) []File {
	ms, err := migrations.Load(migrations.Files())
	if err != nil {
		b.Fatal(err)
	}
	var files []File
	for _, m := range ms {
		files = append(files, File{Name: m.Up.Path, SQL: m.Up.SQL, NoTransaction: m.Up.NoTransaction, Report: true})
	}
	return files
}

// generated mirrors bench/lint.sh's 5,000-statement file.
func generated() []File {
	var t, g strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&t, "CREATE TABLE t%d (id bigint PRIMARY KEY, c text);\n", i)
	}
	for i := 0; i < 5000; i++ {
		tb := func(back int) string { return fmt.Sprintf("t%d", (i-back)%50) }
		switch i % 10 {
		case 0:
			fmt.Fprintf(&g, "CREATE TABLE new_%d (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n", i)
		case 1:
			fmt.Fprintf(&g, "ALTER TABLE %s ADD COLUMN c%d text;\n", tb(0), i)
		case 2:
			fmt.Fprintf(&g, "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_%d ON %s (c%d);\n", i, tb(1), i-1)
		case 3:
			fmt.Fprintf(&g, "ALTER TABLE %s ADD CONSTRAINT chk_%d CHECK (c%d IS NOT NULL) NOT VALID;\n", tb(2), i, i-2)
		case 4:
			fmt.Fprintf(&g, "ALTER TABLE %s VALIDATE CONSTRAINT chk_%d;\n", tb(3), i-1)
		case 5:
			fmt.Fprintf(&g, "UPDATE %s SET c%d = 'x' WHERE id BETWEEN %d AND %d;\n", tb(4), i-4, i, i+1000)
		case 6:
			fmt.Fprintf(&g, "ALTER TABLE %s ADD COLUMN n%d bigint DEFAULT 0;\n", tb(0), i)
		case 7:
			fmt.Fprintf(&g, "COMMENT ON COLUMN %s.n%d IS 'counter %d';\n", tb(1), i-1, i)
		case 8:
			fmt.Fprintf(&g, "CREATE INDEX idx_new_%d ON new_%d (name);\n", i, i-8)
		default:
			fmt.Fprintf(&g, "INSERT INTO new_%d (name) VALUES ('a'), ('b');\n", i-9)
		}
	}
	return []File{{Name: "0001_tables.up.sql", SQL: t.String()}, {Name: "0002_generated.up.sql", SQL: g.String(), Report: true}}
}

func BenchmarkCheckShipped(b *testing.B) {
	files := shippedFiles(b)
	for b.Loop() {
		if _, err := Check(files, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckGenerated(b *testing.B) {
	files := generated()
	for b.Loop() {
		if _, err := Check(files, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestChunkedParseMatchesWhole: a large file parsed in pieces gives the same
// statements, offsets, lines and trees as one parse; a syntax error in a later
// piece is reported where one parse reports it.
func TestChunkedParseMatchesWhole(t *testing.T) {
	sql := generated()[1].SQL
	if len(cutPoints(sql)) < 3 && runtime.GOMAXPROCS(0) > 1 {
		t.Fatal("the generated file was not cut into pieces")
	}
	chunked, perr := parse(sql)
	if perr != nil {
		t.Fatal(perr.msg)
	}
	whole, perr := parseAt(sql, 0, sql)
	if perr != nil {
		t.Fatal(perr.msg)
	}
	if len(chunked) != len(whole) || len(whole) != 5000 {
		t.Fatalf("%d statements in pieces, %d whole", len(chunked), len(whole))
	}
	for i := range whole {
		a, b := chunked[i], whole[i]
		if a.start != b.start || a.first != b.first || a.end != b.end || a.line != b.line {
			t.Fatalf("statement %d: pieces %+v, whole %+v", i, a, b)
		}
		if !equalTrees(reflect.ValueOf(a.node), reflect.ValueOf(b.node)) {
			t.Fatalf("statement %d: trees differ", i)
		}
	}
	broken := sql + "ALTER TABLE t1 ADD COLUMN;\n"
	_, e1 := parse(broken)
	_, e2 := parseAt(broken, 0, broken)
	if e1 == nil || e2 == nil || e1.pos != e2.pos || e1.msg != e2.msg {
		t.Fatalf("syntax error: pieces %+v, whole %+v", e1, e2)
	}
}

// equalTrees compares two parse trees, except for the locations of their
// nodes (relative to where each parse started).
func equalTrees(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return a.Elem().Type() == b.Elem().Type() && equalTrees(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if strings.HasSuffix(strings.ToLower(a.Type().Field(i).Name), "location") {
				continue
			}
			if !equalTrees(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !equalTrees(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}
