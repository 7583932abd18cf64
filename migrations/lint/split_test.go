package lint

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/migrations"
)

// The engine splits no-transaction files (and runs transactional ones
// statement by statement) with its own lexer, migrations.Split, which is
// cgo-free and faster (BenchmarkSplit*). It must find exactly the statements,
// and the lines, that PostgreSQL's grammar finds: on every shipped file (up and
// down) and on every corpus file.
func TestSplitAgreesWithParser(t *testing.T) {
	src := migrations.Files()
	names, err := fs.Glob(src, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no shipped migrations: %v", err)
	}
	files := map[string]string{}
	for _, n := range names {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			t.Fatal(err)
		}
		files["migrations/sql/"+n] = string(b)
	}
	setup, cases := loadCorpus(t)
	files["testdata/lint/setup.sql"] = setup
	for _, c := range cases {
		if c.rule != RuleSyntax {
			files[c.path] = c.sql
		}
	}
	for name, sql := range files {
		stmts, perr := parse(sql)
		if perr != nil {
			t.Errorf("%s: %s", name, perr.msg)
			continue
		}
		lex := migrations.Split(sql)
		if len(lex) != len(stmts) {
			t.Errorf("%s: lexer found %d statements, parser %d", name, len(lex), len(stmts))
			continue
		}
		for i, s := range stmts {
			want := strings.TrimSuffix(strings.TrimSpace(sql[s.first:s.end]), ";")
			if got := lex[i].SQL; got != want || lex[i].Line != s.line {
				t.Errorf("%s statement %d: lexer line %d %q, parser line %d %q", name, i+1, lex[i].Line, got, s.line, want)
			}
		}
	}
}

func benchFile() string {
	var sb strings.Builder
	for i := 0; i < 500; i++ {
		sb.WriteString("-- step\nALTER TABLE t ADD COLUMN c text DEFAULT 'a;b';\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n")
	}
	return sb.String()
}

func BenchmarkSplitLexer(b *testing.B) {
	sql := benchFile()
	for b.Loop() {
		migrations.Split(sql)
	}
}

func BenchmarkSplitParser(b *testing.B) {
	sql := benchFile()
	for b.Loop() {
		if _, err := parse(sql); err != nil {
			b.Fatal(err.msg)
		}
	}
}
