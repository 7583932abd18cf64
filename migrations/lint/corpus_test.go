package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The corpus in testdata/lint has one folder per rule, each with unsafe*.sql
// files the rule must flag and safe*.sql files it must leave clean. Every file
// is a migration that runs after testdata/lint/setup.sql (the existing,
// populated schema). Its header says what to expect:
//
//	-- expect-lint: RULE[,RULE] | none     the exact set of rules reported
//	-- expect-pg: FACT                     what PostgreSQL 15 does (corpus_pg_test.go)
//	-- after: OTHER.sql                    an earlier migration of the same folder
const corpusDir = "../../testdata/lint"

type caseFile struct {
	rule, name, path string
	sql              string
	noTx             bool
	lint             []string
	pg               []fact
	after            string
}

type fact struct{ kind, table, arg string }

func loadCorpus(t *testing.T) (setup string, cases []*caseFile) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "setup.sql"))
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(corpusDir, d.Name(), "*.sql"))
		for _, p := range files {
			cases = append(cases, readCase(t, d.Name(), p))
		}
	}
	return string(b), cases
}

func readCase(t *testing.T, rule, path string) *caseFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &caseFile{rule: rule, name: filepath.Base(path), path: path, sql: string(b)}
	c.noTx = strings.HasPrefix(c.sql, "-- quantx:no-transaction")
	sawLint := false
	for _, line := range strings.Split(c.sql, "\n") {
		switch {
		case strings.HasPrefix(line, "-- expect-lint:"):
			sawLint = true
			for _, r := range strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "-- expect-lint:")), ",") {
				if r = strings.TrimSpace(r); r != "none" && r != "" {
					c.lint = append(c.lint, r)
				}
			}
		case strings.HasPrefix(line, "-- expect-pg:"):
			f := strings.Fields(strings.TrimPrefix(line, "-- expect-pg:"))
			fc := fact{kind: f[0]}
			switch fc.kind {
			case "breaks", "keeps", "changes":
				fc.arg = strings.Join(f[1:], " ")
			default:
				if len(f) > 1 {
					fc.table = f[1]
				}
				if len(f) > 2 {
					fc.arg = f[2]
				}
			}
			c.pg = append(c.pg, fc)
		case strings.HasPrefix(line, "-- after:"):
			c.after = strings.TrimSpace(strings.TrimPrefix(line, "-- after:"))
		}
	}
	if !sawLint {
		t.Fatalf("%s: no '-- expect-lint:' line", path)
	}
	slices.Sort(c.lint)
	return c
}

// chain returns the case's earlier migrations (its "after" files), oldest first.
func (c *caseFile) chain(t *testing.T) []*caseFile {
	var out []*caseFile
	for cur := c; cur.after != ""; {
		prev := readCase(t, c.rule, filepath.Join(filepath.Dir(c.path), cur.after))
		out = append([]*caseFile{prev}, out...)
		cur = prev
	}
	return out
}

// lintFiles is what `migrate lint` would read for this case: the setup and
// the earlier files as context, the case itself reported on.
func (c *caseFile) lintFiles(t *testing.T, setup string) []File {
	files := []File{{Name: "setup.sql", SQL: setup}}
	for _, p := range c.chain(t) {
		files = append(files, File{Name: p.name, SQL: p.sql, NoTransaction: p.noTx})
	}
	return append(files, File{Name: c.name, SQL: c.sql, NoTransaction: c.noTx, Report: true})
}

// TestCorpusLint: every unsafe file is flagged with exactly the rules its
// header names, every safe file is clean.
func TestCorpusLint(t *testing.T) {
	setup, cases := loadCorpus(t)
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			res, err := Check(c.lintFiles(t, setup), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				if !slices.Contains(got, f.Rule) {
					got = append(got, f.Rule)
				}
				if f.File != c.name || f.Line < 1 || f.Message == "" || f.Fix == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.lint) {
				t.Errorf("rules reported %v, want %v\n%v", got, c.lint, res.Findings)
			}
			if strings.HasPrefix(c.name, "safe") && len(c.lint) > 0 {
				t.Errorf("a safe file must expect no findings")
			}
			if strings.HasPrefix(c.name, "unsafe") && !slices.Contains(c.lint, c.rule) {
				t.Errorf("an unsafe file must expect its folder's rule %s", c.rule)
			}
		})
	}
}

// TestCorpusCoversEveryRule: each rule has a folder with an unsafe and a safe file.
func TestCorpusCoversEveryRule(t *testing.T) {
	_, cases := loadCorpus(t)
	for _, r := range Rules() {
		var unsafe, safe bool
		for _, c := range cases {
			if c.rule == r.ID {
				unsafe = unsafe || strings.HasPrefix(c.name, "unsafe")
				safe = safe || strings.HasPrefix(c.name, "safe")
			}
		}
		if !unsafe || !safe {
			t.Errorf("rule %s: testdata/lint/%s needs an unsafe*.sql and a safe*.sql (have unsafe %v, safe %v)", r.ID, r.ID, unsafe, safe)
		}
	}
}
