//go:build cgo

package pgtree

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	pgq "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/quantx/quantx-db/migrations"
)

// TestGeneratedFilesAreCurrent regenerates the *.gen.go files and compares:
// after an upgrade of pg_query_go they must be regenerated (go generate).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./gen", "-dir", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, out)
	}
	gen, _ := filepath.Glob(filepath.Join(dir, "*.gen.go"))
	have, _ := filepath.Glob("*.gen.go")
	if len(gen) == 0 || len(gen) != len(have) {
		t.Fatalf("generated %d files, the package has %d", len(gen), len(have))
	}
	for _, p := range gen {
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Base(p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./migrations/lint/internal/pgtree`", filepath.Base(p))
		}
	}
}

// corpus is every SQL file the linter is tested on: the shipped migrations,
// testdata/lint, and statements that exercise the rarer field types.
func corpus(t *testing.T) map[string]string {
	files := map[string]string{}
	src := migrations.Files()
	names, _ := fs.Glob(src, "*.sql")
	for _, n := range names {
		b, _ := fs.ReadFile(src, n)
		files[n] = string(b)
	}
	paths, _ := filepath.Glob("../../../../testdata/lint/*/*.sql")
	paths = append(paths, "../../../../testdata/lint/setup.sql")
	if len(paths) < 50 || len(names) < 10 {
		t.Fatalf("corpus not found: %d lint files, %d migrations", len(paths), len(names))
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(b)
	}
	files["extra"] = `SELECT 1.5e10, -2, 'x'::text, B'1010', X'ff', true, NULL, $1, ARRAY[1,2][1:2], row(1, 'a') IS NULL;
CREATE FUNCTION f(a int DEFAULT 1, VARIADIC b text[] DEFAULT '{}') RETURNS SETOF record LANGUAGE sql STABLE PARALLEL SAFE COST 10 ROWS 5 AS $$ SELECT 1 $$;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r ORDER BY n DESC NULLS LAST LIMIT 5 OFFSET 1 FOR UPDATE SKIP LOCKED;
INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a RETURNING *;
MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v);
SELECT xmlelement(name a, 'b'), json_object('k': 1), CURRENT_DATE, CURRENT_USER, GROUPING(a) FROM t GROUP BY ROLLUP (a), CUBE (b);
CREATE POLICY p ON t USING (owner = current_user);
ALTER TABLE t ALTER COLUMN c SET STATISTICS 100, ALTER COLUMN c TYPE numeric(10,2) USING c::numeric;
CREATE STATISTICS s (dependencies) ON a, b FROM t;
SELECT * FROM xmltable('/a' PASSING '<a/>' COLUMNS x int PATH 'x'), LATERAL generate_series(1, 2) WITH ORDINALITY AS g(v, i);`
	return files
}

// TestDecodeMatchesProtobuf: on every corpus file, DecodeJSON of
// libpg_query's JSON returns the same tree as pg_query_go's decoding of its
// protobuf, field by field.
func TestDecodeMatchesProtobuf(t *testing.T) {
	for name, sql := range corpus(t) {
		want, err := pgq.Parse(sql)
		if err != nil {
			continue // the syntax-error cases
		}
		js, err := parser.ParseToJSON(sql)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeJSON(js)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := sameTree(reflect.ValueOf(got), reflect.ValueOf(want), "ParseResult"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// sameTree compares a pgtree value with pg_query_go's, by field names.
func sameTree(a, b reflect.Value, path string) error {
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Errorf("%s: nil %v, want nil %v", path, a.IsNil(), b.IsNil())
			}
			return nil
		}
		if a.Kind() == reflect.Interface && a.Elem().Type().Elem().Name() != b.Elem().Type().Elem().Name() {
			return fmt.Errorf("%s: %s, want %s", path, a.Elem().Type(), b.Elem().Type())
		}
		return sameTree(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		if a.Type().Name() != b.Type().Name() {
			return fmt.Errorf("%s: type %s, want %s", path, a.Type().Name(), b.Type().Name())
		}
		for i := 0; i < b.NumField(); i++ {
			if sf := b.Type().Field(i); sf.IsExported() {
				if _, ok := a.Type().FieldByName(sf.Name); !ok {
					return fmt.Errorf("%s: no field %s", path, sf.Name)
				}
			}
		}
		for i := 0; i < a.NumField(); i++ {
			name := a.Type().Field(i).Name
			if err := sameTree(a.Field(i), b.FieldByName(name), path+"."+name); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: %d elements, want %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if err := sameTree(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Errorf("%s: %q, want %q", path, a.String(), b.String())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return fmt.Errorf("%s: %v, want %v", path, a.Bool(), b.Bool())
		}
	case reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Errorf("%s: %d, want %d", path, a.Int(), b.Int())
		}
	case reflect.Uint32, reflect.Uint64:
		if a.Uint() != b.Uint() {
			return fmt.Errorf("%s: %d, want %d", path, a.Uint(), b.Uint())
		}
	case reflect.Float64:
		if a.Float() != b.Float() {
			return fmt.Errorf("%s: %v, want %v", path, a.Float(), b.Float())
		}
	default:
		return fmt.Errorf("%s: kind %s not compared", path, a.Kind())
	}
	return nil
}

// TestWalkVisitsEveryNode: Walk visits the nodes that a walk of pg_query_go's
// tree through protobuf reflection visits (the same kinds, as often), and
// stops below a node when told to.
func TestWalkVisitsEveryNode(t *testing.T) {
	for name, sql := range corpus(t) {
		want, err := pgq.Parse(sql)
		if err != nil {
			continue
		}
		var wantKinds []string
		reflectWalk(want.ProtoReflect(), func(n *pgq.Node) {
			wantKinds = append(wantKinds, kind(n.GetNode()))
		})
		got := parse(t, sql)
		var gotKinds []string
		for _, s := range got.Stmts {
			Walk(s.Stmt, func(n *Node) bool {
				gotKinds = append(gotKinds, kind(n.GetNode()))
				return true
			})
		}
		slices.Sort(wantKinds)
		slices.Sort(gotKinds)
		if !slices.Equal(gotKinds, wantKinds) {
			t.Errorf("%s: Walk visited %d nodes, reflection %d", name, len(gotKinds), len(wantKinds))
		}
	}
	got := parse(t, "SELECT f(g(1))")
	var seen []string
	Walk(got.Stmts[0].Stmt, func(n *Node) bool {
		seen = append(seen, kind(n.GetNode()))
		return n.GetFuncCall() == nil // do not look inside f(...)
	})
	if strings.Join(seen, " ") != "Node_SelectStmt Node_ResTarget Node_FuncCall" {
		t.Errorf("Walk visited %v", seen)
	}
}

// kind names a node's alternative (Node_SelectStmt), or "empty".
func kind(alt any) string {
	if alt == nil {
		return "empty"
	}
	return reflect.TypeOf(alt).Elem().Name()
}

func reflectWalk(m protoreflect.Message, fn func(*pgq.Node)) {
	if n, ok := m.Interface().(*pgq.Node); ok {
		fn(n)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				reflectWalk(v.List().Get(i).Message(), fn)
			}
		default:
			reflectWalk(v.Message(), fn)
		}
		return true
	})
}

func parse(t *testing.T, sql string) *ParseResult {
	t.Helper()
	js, err := parser.ParseToJSON(sql)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := DecodeJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestDecodeRejects: malformed input is an error, never a partial tree: a cut
// document, a string that is not UTF-8 (with protobuf's wording, which
// `migrate lint` reported), a field this version does not know, a value of the
// wrong type or out of range, a message field given twice; escapes decode.
func TestDecodeRejects(t *testing.T) {
	js, err := parser.ParseToJSON("CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeJSON(js); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(js); n++ {
		if _, err := DecodeJSON(js[:n]); err == nil {
			t.Fatalf("DecodeJSON of the first %d of %d bytes succeeded", n, len(js))
		}
	}
	bad, err := parser.ParseToJSON(`CREATE TABLE "a` + "\xff" + `b" (id int)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeJSON(bad); !errors.Is(err, errInvalidUTF8) || err.Error() != "string field contains invalid UTF-8" {
		t.Errorf("invalid UTF-8: %v", err)
	}
	for doc, want := range map[string]error{
		`{"version":1,"stmts":[],"extra":1}`:                      errUnknownField,
		`{"version":"x"}`:                                         errValue,
		`{"version":4294967296}`:                                  errValue,
		`{"stmts":[{"stmt":{"A_Star":{}},"stmt":{"A_Star":{}}}]}`: errRepeated,
		`{"stmts":[{"stmt":{"A_Star":{},"A_Star":{}}}]}`:          errRepeated,
		`{"stmts":[{"stmt":{"A_Star":{}}}]} x`:                    errSyntax,
		`{"stmts":[{"stmt":{"String":{"sval":"a\q"}}}]}`:          errSyntax,
	} {
		if _, err := DecodeJSON(doc); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", doc, err, want)
		}
	}
	tree, err := DecodeJSON(`{"stmts":[{"stmt":{"String":{"sval":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}},"stmt_len":null}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Stmts[0].Stmt.GetString_().Sval; got != "a\"\\/\b\f\n\r\té😀" {
		t.Errorf("escapes decoded as %q", got)
	}
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "ALTER TABLE t%d ADD COLUMN c%d bigint DEFAULT 0 NOT NULL REFERENCES u (id);\nUPDATE t SET c = 'x' WHERE id BETWEEN %d AND %d;\n", i, i, i, i+10)
	}
	sql := sb.String()
	b.Run("json+pgtree", func(b *testing.B) {
		for b.Loop() {
			js, err := parser.ParseToJSON(sql)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeJSON(js); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protobuf+pg_query_go", func(b *testing.B) {
		for b.Loop() {
			if _, err := pgq.Parse(sql); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeShipped(b *testing.B) {
	src := migrations.Files()
	names, _ := fs.Glob(src, "*.up.sql")
	var sql string
	for _, n := range names {
		s, _ := fs.ReadFile(src, n)
		sql += string(s) + "\n"
	}
	js, err := parser.ParseToJSON(sql)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(js)))
	for b.Loop() {
		if _, err := DecodeJSON(js); err != nil {
			b.Fatal(err)
		}
	}
}
