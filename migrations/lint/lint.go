// Package lint checks PostgreSQL migration files for statements that lock or
// rewrite tables that already hold data, that break code still running against
// the old schema, or that fail in the way quantx-db runs a file. It is a
// library; `quantx-db migrate lint` is its caller.
//
// Statements are parsed with PostgreSQL's own grammar (libpg_query through
// github.com/pganalyze/pg_query_go's C binding), and every rule works on the
// parse tree, never on the text. The files of a migration set are read in version order
// and a small model of the schema is kept across them (tables and their
// columns, constraints and whether they are validated, indexes, domains,
// enum types, functions and their volatility), so a rule knows whether a table
// was created in the same file (then nothing can be waiting on it), what type a
// column had before ALTER COLUMN TYPE, and whether a CHECK (col IS NOT NULL)
// was validated by an earlier migration before SET NOT NULL. Earlier files
// that are not reported on (--pending, --since) still feed that model.
//
// Why libpg_query through cgo (pg_query_go) rather than the same library
// compiled to WebAssembly (github.com/wasilibs/go-pgquery, on wazero): measured
// on the 2-core CI machine (docs/lint.md and BENCHMARKS.md have the figures),
// wazero compiles the 2.2 MB module in every process, about 2 s (0.26 s even
// with a disk cache, which go-pgquery does not expose), against a few
// milliseconds of parsing with cgo. The price is a C toolchain at build time:
// release binaries are built natively per platform (or with a cross C
// compiler such as `zig cc`). So that a build without cgo (CGO_ENABLED=0, or a
// plain cross-compile) still works, parse_nocgo.go falls back to go-pgquery:
// the same grammar and output, only slower to start.
//
// libpg_query writes the tree as JSON, which package pgtree decodes into types
// named as pg_query_go's, without the protobuf runtime (pgtree says why: the
// protobuf path cost every process of the binary its set-up, and libpg_query
// writes protobuf four times slower than JSON). No other command pays for the
// parser: nothing runs until Check calls it.
package lint

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// File is one SQL file to check, in the order the files are applied.
type File struct {
	Name          string // shown in findings: the path given, or the embedded file name
	Version       uint64 // migration version; 0 for a file outside a migration set
	Down          bool   // a .down.sql file: drops and renames are its purpose, not findings
	NoTransaction bool   // first line "-- quantx:no-transaction": each statement runs on its own
	SQL           string
	// Report false reads the file only to learn the schema it creates (an
	// applied or earlier migration); it produces no findings.
	Report bool
}

// Options selects the rules. The zero value reports every rule.
type Options struct {
	Disable []string // rule ids not to report
	NoStyle bool     // do not report the style rules (warnings)
}

// Finding is one problem in one statement.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Object   string   `json:"object,omitempty"` // the table, column, index or type concerned
	Message  string   `json:"message"`          // what goes wrong, in one line
	Fix      string   `json:"fix"`              // the safe way to get the same change
}

// String formats a finding as file:line: severity[rule]: message.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s[%s]: %s", f.File, f.Line, f.Severity, f.Rule, f.Message)
}

// Result is what Check found in the files it reported on.
type Result struct {
	Files    int       `json:"files"`    // files reported on
	Errors   int       `json:"errors"`   // findings of severity error
	Warnings int       `json:"warnings"` // findings of severity warning
	Findings []Finding `json:"findings"` // never nil; in file order, then line order
}

// ErrUnknownRule is returned when Options names a rule id that does not exist.
var ErrUnknownRule = errors.New("unknown lint rule")

// Check lints files in order. Down files do not change the schema model, so
// give each one right after its up file.
func Check(files []File, opts Options) (Result, error) {
	l, err := newLinter(opts)
	if err != nil {
		return Result{}, err
	}
	res := Result{Findings: []Finding{}}
	trees := parseAll(files)
	for i := range files {
		f := &files[i]
		found := l.file(f, trees[i])
		if !f.Report {
			continue
		}
		res.Files++
		slices.SortStableFunc(found, func(a, b Finding) int { return cmp.Compare(a.Line, b.Line) })
		for _, fd := range found {
			if fd.Severity == Error {
				res.Errors++
			} else {
				res.Warnings++
			}
		}
		res.Findings = append(res.Findings, found...)
	}
	return res, nil
}

// linter carries the schema model from file to file.
type linter struct {
	enabled map[string]bool
	cat     *catalog
	fileNo  int // 1-based index of the file being read; objects remember where they were created
}

func newLinter(opts Options) (*linter, error) {
	l := &linter{enabled: map[string]bool{}, cat: newCatalog()}
	for _, r := range rules {
		l.enabled[r.ID] = !(opts.NoStyle && r.Category == Style)
	}
	for _, id := range opts.Disable {
		id = strings.TrimSpace(id)
		if _, ok := l.enabled[id]; !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownRule, id)
		}
		l.enabled[id] = false
	}
	return l, nil
}

// file reads one file: it checks every statement against the model as it was
// before that statement, then applies the statement to the model.
func (l *linter) file(f *File, p parsed) []Finding {
	l.fileNo++
	src := newSource(f.SQL)
	stmts, perr := p.stmts, p.err
	if perr != nil {
		if !f.Report {
			return nil
		}
		return []Finding{l.finding(f, RuleSyntax, src.lineAtRune(perr.pos), "", perr.msg+": "+ruleReason(RuleSyntax))}
	}
	st := &fileState{f: f, no: l.fileNo, src: src, notValidHere: map[string]string{}, validatedHere: map[string]bool{},
		enumValues: map[string]string{}}
	dirs := parseDirectives(src, stmts)
	var out []Finding
	for i, s := range stmts {
		st.stmt, st.line, st.base = i, s.line, s.base
		raw := l.check(st, s)
		if f.Report {
			for _, fd := range raw {
				if !l.enabled[fd.Rule] {
					continue
				}
				if dirs.suppress(fd.Rule, i) {
					continue
				}
				out = append(out, fd)
			}
		}
		l.apply(st, s)
	}
	if !f.Report {
		return nil
	}
	for _, d := range dirs.list {
		switch {
		case d.err != "":
			out = append(out, l.finding(f, RuleBadDirective, d.line, "", d.err))
		case !d.used && l.directiveRulesEnabled(d) && l.enabled[RuleUnusedDirective]:
			out = append(out, l.finding(f, RuleUnusedDirective, d.line, strings.Join(d.rules, ","), ruleReason(RuleUnusedDirective)))
		}
	}
	return out
}

// directiveRulesEnabled reports whether any rule a directive names is on: a
// directive for a rule switched off in the config is not "unused".
func (l *linter) directiveRulesEnabled(d *directive) bool {
	for _, r := range d.rules {
		if l.enabled[r] {
			return true
		}
	}
	return false
}

func (l *linter) finding(f *File, rule string, line int, object, msg string) Finding {
	r, _ := Lookup(rule)
	if msg == "" {
		msg = r.Reason
	}
	return Finding{Rule: rule, Severity: r.Severity, File: f.Name, Line: line, Object: object, Message: msg, Fix: r.Fix}
}

func ruleReason(id string) string {
	r, _ := Lookup(id)
	return r.Reason
}

// fileState is what one file has done so far: the rules about "the same
// transaction" and "created in this file" read it.
type fileState struct {
	f    *File
	no   int
	src  *source
	stmt int // index of the statement being checked
	base int // offset the statement's node locations are relative to
	line int
	// notValidHere maps constraints added NOT VALID in this file to their table.
	notValidHere map[string]string
	// validatedHere holds "table.constraint" validated in this file.
	validatedHere map[string]bool
	// enumValues maps enum values added in this file to their type.
	enumValues map[string]string
}

// inTx reports whether the statements of this file share one transaction.
func (s *fileState) inTx() bool { return !s.f.NoTransaction }
