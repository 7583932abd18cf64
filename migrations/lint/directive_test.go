package lint

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/quantx/quantx-db/migrations"
)

func TestDirectivePlacement(t *testing.T) {
	const drop = "ALTER TABLE accounts DROP COLUMN note;\n"
	const drop2 = "ALTER TABLE accounts DROP COLUMN name;\n"
	tests := []struct {
		name, sql string
		want      []string // rules reported, in line order
	}{
		{"statement level covers only the next statement",
			"-- quantx:lint-ignore ban-drop-column approved in OPS-1\n" + drop + drop2, []string{RuleDropColumn}},
		{"header followed by a blank line covers the file",
			"-- header\n-- quantx:lint-ignore ban-drop-column approved in OPS-1\n\n" + drop + drop2, nil},
		{"between statements, even after a blank line, covers the next statement",
			drop + "\n-- quantx:lint-ignore ban-drop-column approved in OPS-1\n\n" + drop2, []string{RuleDropColumn}},
		{"after the last statement is refused",
			drop + "-- quantx:lint-ignore ban-drop-column approved in OPS-1\n", []string{RuleDropColumn, RuleBadDirective}},
		{"inside a function body is not a directive",
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n-- quantx:lint-ignore ban-drop-column x\nSELECT 1\n$$;\n" + drop, []string{RuleDropColumn}},
		{"inside a block comment is not a directive",
			"/*\n-- quantx:lint-ignore ban-drop-column approved\n*/\n" + drop, []string{RuleDropColumn}},
		{"several rules, comma-separated",
			"-- quantx:lint-ignore ban-drop-column,prefer-text-field approved in OPS-1\nALTER TABLE accounts DROP COLUMN note, ADD COLUMN code varchar(3);\n" + drop2, []string{RuleDropColumn}},
		{"meta rules cannot be ignored",
			"-- quantx:lint-ignore syntax-error because\n" + drop, []string{RuleBadDirective, RuleDropColumn}},
	}
	setup := "CREATE TABLE accounts (id bigint, note text, name text);"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check([]File{{Name: "s.sql", SQL: setup}, {Name: "m.sql", SQL: tt.sql, Report: true}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Rule)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v\n%v", got, tt.want, res.Findings)
			}
		})
	}
}

// TestChecksumSkipsEveryDirective: the lines the linter reads as directives
// are left out of the engine's checksum, so adding or rewording one in an
// applied file is never drift.
func TestChecksumSkipsEveryDirective(t *testing.T) {
	files := map[string]string{}
	src := migrations.Files()
	names, _ := fs.Glob(src, "*.up.sql")
	for _, n := range names {
		b, _ := fs.ReadFile(src, n)
		files[n] = string(b)
	}
	_, cases := loadCorpus(t)
	for _, c := range cases {
		if strings.Contains(c.sql, DirectivePrefix) && c.rule != RuleSyntax {
			files[c.rule+"_"+c.name] = c.sql
		}
	}
	seen := 0
	for name, sql := range files {
		stmts, perr := parse(sql)
		if perr != nil {
			t.Fatalf("%s: %s", name, perr.msg)
		}
		ds := parseDirectives(newSource(sql), stmts)
		if len(ds.list) == 0 {
			continue
		}
		seen++
		lines := strings.SplitAfter(sql, "\n")
		for _, d := range ds.list {
			lines[d.line-1] = ""
		}
		sum := func(text string) string {
			ms, err := migrations.Load(fstest.MapFS{"0001_x.up.sql": {Data: []byte(text)}})
			if err != nil {
				t.Fatal(err)
			}
			return ms[0].Up.Checksum
		}
		if sum(sql) != sum(strings.Join(lines, "")) {
			t.Errorf("%s: a directive line counts in the checksum", name)
		}
	}
	if seen == 0 {
		t.Fatal("no file with directives")
	}
}
