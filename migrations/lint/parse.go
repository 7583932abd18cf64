package lint

import (
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	pg "github.com/quantx/quantx-db/migrations/lint/internal/pgtree"

	"github.com/quantx/quantx-db/migrations"
)

// stmt is one parsed statement and where it is in the file.
type stmt struct {
	node  *pg.Node
	base  int // byte offset that the node's own locations are relative to
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

// parsed is one file's statements, or its syntax error.
type parsed struct {
	stmts []stmt
	err   *parseError
}

// chunkBytes is the size above which a file is cut at statement boundaries
// and its pieces parsed in parallel: libpg_query is thread-safe, and on a
// 5,000-statement file the parse is nearly all of the run.
const chunkBytes = 32 << 10

// parseAll parses every file, spreading files and large files' pieces over
// GOMAXPROCS workers. The checks then run in file order, single-threaded.
func parseAll(files []File) []parsed {
	type job struct {
		file, piece int
		base        int
		sql         string
	}
	out := make([]parsed, len(files))
	pieces := make([][]parsed, len(files))
	bases := make([][]int, len(files))
	var jobs []job
	for i, f := range files {
		cuts := cutPoints(f.SQL)
		pieces[i] = make([]parsed, len(cuts)-1)
		bases[i] = cuts
		for j := 0; j+1 < len(cuts); j++ {
			jobs = append(jobs, job{i, j, cuts[j], f.SQL[cuts[j]:cuts[j+1]]})
		}
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				st, err := parseAt(j.sql, j.base, files[j.file].SQL)
				pieces[j.file][j.piece] = parsed{st, err}
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	for i := range files {
		var all []stmt
		for _, p := range pieces[i] {
			if p.err != nil {
				all = nil
				break
			}
			all = append(all, p.stmts...)
		}
		switch {
		case len(pieces[i]) == 1:
			out[i] = pieces[i][0]
		case all == nil:
			// A piece failed: parse the whole file again, so that the error is
			// PostgreSQL's for the file (and a cut the lexer got wrong, such as
			// inside BEGIN ATOMIC ... END, cannot matter).
			st, err := parseAt(files[i].SQL, 0, files[i].SQL)
			out[i] = parsed{st, err}
		default:
			out[i] = parsed{stmts: all}
		}
	}
	return out
}

// cutPoints returns byte offsets [0, ..., len(sql)] that cut a large file into
// about GOMAXPROCS pieces just after top-level semicolons (the engine's lexer
// finds them); a small file is one piece.
func cutPoints(sql string) []int {
	n := runtime.GOMAXPROCS(0)
	if len(sql) < chunkBytes || n < 2 {
		return []int{0, len(sql)}
	}
	cuts := []int{0}
	target := len(sql) / n
	off := 0
	for _, st := range migrations.Split(sql) {
		i := strings.Index(sql[off:], st.SQL)
		if i < 0 {
			return []int{0, len(sql)}
		}
		end := off + i + len(st.SQL)
		semi := strings.IndexByte(sql[end:], ';')
		if semi < 0 {
			break
		}
		off = end + semi + 1
		if off-cuts[len(cuts)-1] >= target && len(sql)-off > target/2 {
			cuts = append(cuts, off)
		}
	}
	return append(cuts, len(sql))
}

// parse parses a whole file (tests use it; Check goes through parseAll).
func parse(sql string) ([]stmt, *parseError) {
	p := parseAll([]File{{SQL: sql}})[0]
	return p.stmts, p.err
}

// parseAt parses piece, which starts at byte offset base of the file whole,
// and locates each statement in the file.
func parseAt(piece string, base int, whole string) ([]stmt, *parseError) {
	tree, err := parseTree(piece)
	if err != nil {
		if base > 0 && err.pos > 0 {
			err.pos += utf8.RuneCountInString(whole[:base])
		}
		return nil, err
	}
	src := newSource(whole)
	out := make([]stmt, 0, len(tree.Stmts))
	for _, rs := range tree.Stmts {
		start := base + int(rs.StmtLocation)
		end := base + len(piece)
		if rs.StmtLen > 0 {
			end = start + int(rs.StmtLen)
		}
		first := skipBlanks(whole, start, end)
		out = append(out, stmt{node: rs.Stmt, base: base, start: start, first: first, end: end, line: src.lineAt(first)})
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
