package lint

import (
	"sort"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// stmt is one parsed statement and where it is in the file.
type stmt struct {
	node  *pg.Node
	start int // byte offset of the region before the statement (just after the previous semicolon)
	first int // byte offset of the statement's first token
	end   int // byte offset just past the statement (its semicolon, or the end of the file)
	line  int // 1-based line of the first token
}

// parseError is a syntax error and where the parser stopped.
type parseError struct {
	msg string
	pos int // 1-based character (not byte) position, 0 if unknown
}

// parse parses a whole file with PostgreSQL's grammar and locates each statement.
func parse(sql string) ([]stmt, *parseError) {
	tree, err := parseTree(sql)
	if err != nil {
		return nil, err
	}
	src := newSource(sql)
	out := make([]stmt, 0, len(tree.Stmts))
	for _, rs := range tree.Stmts {
		start := int(rs.StmtLocation)
		end := len(sql)
		if rs.StmtLen > 0 {
			end = start + int(rs.StmtLen)
		}
		first := skipBlanks(sql, start, end)
		out = append(out, stmt{node: rs.Stmt, start: start, first: first, end: end, line: src.lineAt(first)})
	}
	return out, nil
}

// skipBlanks returns the offset of the first byte in sql[i:end] that is not
// white space or part of a comment. libpg_query reports a statement from just
// after the previous semicolon, comments included.
func skipBlanks(sql string, i, end int) int {
	for i < end {
		switch {
		case sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '\f':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return end
			}
			i += j + 1
		case strings.HasPrefix(sql[i:], "/*"):
			i = skipComment(sql, i)
		default:
			return i
		}
	}
	return i
}

// skipComment returns the offset just past the (nested) block comment at i.
func skipComment(sql string, i int) int {
	depth := 0
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(sql[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return i
}

// source maps byte offsets of one file to line numbers.
type source struct {
	text  string
	lines []int // byte offset where each line starts
}

func newSource(text string) *source {
	s := &source{text: text, lines: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// lineAt returns the 1-based line of byte offset off.
func (s *source) lineAt(off int) int {
	return sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off })
}

// lineAtRune returns the line of the pos-th character (1-based), as the
// parser counts error positions.
func (s *source) lineAtRune(pos int) int {
	if pos <= 0 {
		return 1
	}
	off := 0
	for n := 1; n < pos && off < len(s.text); n++ {
		_, size := utf8.DecodeRuneInString(s.text[off:])
		off += size
	}
	return s.lineAt(off)
}
