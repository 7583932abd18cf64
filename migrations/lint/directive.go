package lint

import (
	"fmt"
	"strings"

	"github.com/quantx/quantx-db/migrations"
)

// DirectivePrefix starts a comment line that silences rules:
//
//	-- quantx:lint-ignore RULE-ID[,RULE-ID...] REASON
//
// Directly above a statement (no blank line between the comment block and the
// statement) it applies to that statement. In the file's opening comments,
// separated from the first statement by a blank line, it applies to the whole
// file. The reason is required: a directive without one, or naming an unknown
// rule, is itself an error finding and silences nothing.
//
// The migrations engine leaves these lines out of a file's checksum, so that
// adding one to an applied file is not drift.
const DirectivePrefix = migrations.LintIgnoreDirective

// directive is one parsed quantx:lint-ignore line.
type directive struct {
	line  int
	rules []string
	file  bool // applies to the whole file
	stmt  int  // index of the statement it applies to (when !file)
	err   string
	used  bool
}

type directives struct{ list []*directive }

// parseDirectives finds directive lines in the comments before each statement
// (and after the last one). Only these gaps are read: a directive inside a
// statement, a string or a function body is not a directive.
func parseDirectives(src *source, stmts []stmt) directives {
	var ds directives
	gap := func(from, to, stmtIdx int) {
		text := src.text[from:to]
		off := from
		for len(text) > 0 {
			nl := strings.IndexByte(text, '\n')
			line := text
			if nl >= 0 {
				line = text[:nl+1]
			}
			if t := strings.TrimSpace(line); strings.HasPrefix(t, DirectivePrefix) && !insideBlockComment(src.text[from:off]) {
				ds.list = append(ds.list, newDirective(t, src.lineAt(off), stmtIdx, src.text[off+len(line):to]))
			}
			off += len(line)
			text = text[len(line):]
		}
	}
	prev := 0
	for i, s := range stmts {
		gap(max(prev, s.start), s.first, i)
		prev = s.end
	}
	gap(min(prev, len(src.text)), len(src.text), -1)
	return ds
}

// insideBlockComment reports whether text ends inside an unclosed /* comment.
func insideBlockComment(text string) bool {
	i := 0
	for i < len(text) {
		switch {
		case strings.HasPrefix(text[i:], "--"):
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				return false
			}
			i += j + 1
		case strings.HasPrefix(text[i:], "/*"):
			end := skipComment(text, i)
			if end >= len(text) && !strings.HasSuffix(text, "*/") {
				return true
			}
			i = end
		default:
			i++
		}
	}
	return false
}

// newDirective parses one directive line. after is the text between the line
// and the statement it precedes: a blank line there in the file header makes
// the directive file-wide.
func newDirective(text string, line, stmtIdx int, after string) *directive {
	d := &directive{line: line, stmt: stmtIdx}
	fields := strings.Fields(strings.TrimPrefix(text, DirectivePrefix))
	switch {
	case stmtIdx < 0:
		d.err = "quantx:lint-ignore after the last statement applies to nothing: put it directly above a statement, or in the file header"
		return d
	case len(fields) == 0:
		d.err = "quantx:lint-ignore needs a rule id and a reason: -- quantx:lint-ignore RULE-ID why this is safe here"
		return d
	}
	for _, id := range strings.Split(fields[0], ",") {
		if id == "" {
			continue
		}
		r, ok := Lookup(id)
		if !ok {
			d.err = fmt.Sprintf("quantx:lint-ignore names unknown rule %q (see 'quantx-db migrate lint --rules')", id)
			return d
		}
		if r.Category == Meta && r.ID != RuleUnusedDirective {
			d.err = fmt.Sprintf("rule %s cannot be ignored", id)
			return d
		}
		d.rules = append(d.rules, id)
	}
	if len(fields) < 2 {
		d.err = fmt.Sprintf("quantx:lint-ignore %s has no reason: say why it is safe here, after the rule id", fields[0])
		return d
	}
	d.file = stmtIdx == 0 && hasBlankLine(after)
	return d
}

// hasBlankLine reports whether text holds an empty (or white-space only)
// complete line; the last piece is where the statement itself begins.
func hasBlankLine(text string) bool {
	lines := strings.Split(text, "\n")
	for _, l := range lines[:len(lines)-1] {
		if strings.TrimSpace(l) == "" {
			return true
		}
	}
	return false
}

// suppress reports whether a valid directive silences rule at statement i,
// and marks it used.
func (ds directives) suppress(rule string, i int) bool {
	hit := false
	for _, d := range ds.list {
		if d.err != "" || (!d.file && d.stmt != i) {
			continue
		}
		for _, r := range d.rules {
			if r == rule {
				d.used, hit = true, true
			}
		}
	}
	return hit
}
