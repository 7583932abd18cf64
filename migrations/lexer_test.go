package migrations

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Statement
	}{
		{"two statements", "SELECT 1;\nSELECT 2;\n", []Statement{{"SELECT 1", 1}, {"SELECT 2", 2}}},
		{"no final semicolon", "SELECT 1;\n\nSELECT 2", []Statement{{"SELECT 1", 1}, {"SELECT 2", 3}}},
		{"semicolon in string", "SELECT 'a;b', 'it''s;';", []Statement{{"SELECT 'a;b', 'it''s;'", 1}}},
		{"E string with escaped quote", `SELECT E'x\';y';SELECT 2;`, []Statement{{`SELECT E'x\';y'`, 1}, {"SELECT 2", 1}}},
		{"quoted identifier", `CREATE TABLE "a;b" (x int);`, []Statement{{`CREATE TABLE "a;b" (x int)`, 1}}},
		{"line comment", "-- first; not a statement\nSELECT 1; -- trailing; comment\nSELECT 2;",
			[]Statement{{"SELECT 1", 2}, {"SELECT 2", 3}}},
		{"nested block comment", "/* a /* b; */ c; */ SELECT 1;", []Statement{{"SELECT 1", 1}}},
		{"dollar body", "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT f();",
			[]Statement{{"CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql", 1}, {"SELECT f()", 6}}},
		{"tagged dollar body containing $$", "DO $body$ BEGIN PERFORM '$$;'; END $body$;\nSELECT 1;",
			[]Statement{{"DO $body$ BEGIN PERFORM '$$;'; END $body$", 1}, {"SELECT 1", 2}}},
		{"positional parameter is not a quote", "PREPARE p AS SELECT $1; SELECT 2;", []Statement{{"PREPARE p AS SELECT $1", 1}, {"SELECT 2", 1}}},
		{"comment-only file", "-- nothing here\n/* nor here */\n", nil},
		{"statement after blank lines", "\n\n\n  CREATE INDEX CONCURRENTLY i ON t (x);\n", []Statement{{"CREATE INDEX CONCURRENTLY i ON t (x)", 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.src)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q)\n got %#v\nwant %#v", tt.src, got, tt.want)
			}
		})
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"SELECT 1;", "$$;$$;", "'';\"\";", "/* /* */ */;", "E'\\';'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, st := range Split(src) { // must terminate and never return blank statements
			if st.SQL == "" || st.Line < 1 {
				t.Fatalf("bad statement %#v from %q", st, src)
			}
		}
	})
}
