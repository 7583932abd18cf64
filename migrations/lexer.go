package migrations

import (
	"strings"
)

// Statement is one SQL statement of a migration file and where it starts.
type Statement struct {
	SQL  string // the statement text, without the terminating semicolon
	Line int    // 1-based line of its first non-blank character in the file
}

// Split cuts a file into statements at top-level semicolons. It understands
// what PostgreSQL's own lexer does and golang-migrate's splitter does not
// (golang-migrate #590): single-quoted strings with ” escapes, E” strings
// with backslash escapes, "quoted identifiers", -- and nested /* */ comments,
// and dollar-quoted bodies ($$ or $tag$) such as PL/pgSQL functions and DO
// blocks. Statements that hold only comments and blanks are dropped.
func Split(src string) []Statement {
	var (
		out     []Statement
		start   = 0 // byte offset where the current statement starts
		i       = 0
		line    = 1 // line of byte offset counted (lines are counted once, not from the top per statement)
		counted = 0
	)
	flush := func(end int) {
		text := src[start:end]
		if body, lead := trimStatement(text); body != "" {
			line += strings.Count(src[counted:start], "\n")
			counted = start
			out = append(out, Statement{SQL: body, Line: line + lead})
		}
		start = end + 1
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i = skipBlockComment(src, i)
		case c == '\'':
			backslash := i > 0 && (src[i-1] == 'E' || src[i-1] == 'e') && (i < 2 || !isIdentChar(src[i-2]))
			i = skipQuoted(src, i, '\'', backslash)
		case c == '"':
			i = skipQuoted(src, i, '"', false)
		case c == '$':
			if tag, ok := dollarTag(src, i); ok {
				if end := strings.Index(src[i+len(tag):], tag); end >= 0 {
					i += len(tag) + end + len(tag)
				} else {
					i = len(src) // unterminated: the server will report it
				}
			} else {
				i++
			}
		case c == ';':
			flush(i)
			i++
		default:
			i++
		}
	}
	if start < len(src) {
		flush(len(src))
	}
	return out
}

// trimStatement strips leading/trailing blanks and comment-only lines and
// reports how many lines were skipped before the first real character.
func trimStatement(s string) (string, int) {
	lead := 0
	for {
		t := strings.TrimLeft(s, " \t\r")
		switch {
		case strings.HasPrefix(t, "\n"):
			s = t[1:]
			lead++
		case strings.HasPrefix(t, "--"):
			if j := strings.IndexByte(t, '\n'); j >= 0 {
				s = t[j+1:]
				lead++
			} else {
				s = ""
			}
		case strings.HasPrefix(t, "/*"):
			end := skipBlockComment(t, 0)
			lead += strings.Count(t[:end], "\n")
			s = t[end:]
		default:
			return strings.TrimSpace(t), lead
		}
	}
}

func skipBlockComment(src string, i int) int {
	depth := 0
	for i < len(src) {
		if strings.HasPrefix(src[i:], "/*") {
			depth++
			i += 2
		} else if strings.HasPrefix(src[i:], "*/") {
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		} else {
			i++
		}
	}
	return i
}

// skipQuoted returns the offset just past the closing quote. A doubled quote
// is an escaped quote; with backslash set (E” strings) \x escapes too.
func skipQuoted(src string, i int, q byte, backslash bool) int {
	i++
	for i < len(src) {
		switch {
		case backslash && src[i] == '\\':
			i += 2
		case src[i] == q && i+1 < len(src) && src[i+1] == q:
			i += 2
		case src[i] == q:
			return i + 1
		default:
			i++
		}
	}
	return i
}

// dollarTag recognises $$ or $tag$ at src[i]. A $ that follows an identifier
// character is a positional parameter or part of a name (col$1), not a quote.
func dollarTag(src string, i int) (string, bool) {
	if i > 0 && isIdentChar(src[i-1]) {
		return "", false
	}
	j := i + 1
	for j < len(src) && (isIdentChar(src[j]) && !(j == i+1 && src[j] >= '0' && src[j] <= '9')) {
		j++
	}
	if j < len(src) && src[j] == '$' {
		return src[i : j+1], true
	}
	return "", false
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
