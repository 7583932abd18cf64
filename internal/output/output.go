// Package output is the one way quantx-db shows results to people and programs:
// the process's streams, the -o format, text tables and JSON documents. Results
// go to Out; logs, progress and warnings go to Err, so `-o json | jq` always works.
// On a terminal, a table's state column is coloured by each row's severity
// (internal/report), never by the word in it.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quantx/quantx-db/internal/report"
)

// Streams are the standard streams of one invocation. Commands never touch
// os.Stdout directly, so tests can run them against buffers.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	OutTTY bool // Out is a terminal: progress bars and confirmations may use it
	ErrTTY bool // Err is a terminal: progress bars go there
	Color  bool // colour the state words of tables (a terminal, and NO_COLOR unset)
	// ErrTerm is the terminal behind Err, or nil: progress bars are drawn only
	// on a real terminal (not on /dev/null, also a character device) and take
	// its width.
	ErrTerm *os.File
}

// System returns the process's real streams.
func System() Streams {
	s := Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr),
		Color: ColorWanted(isTerminal(os.Stdout), os.Getenv),
	}
	if s.ErrTTY {
		s.ErrTerm = os.Stderr
	}
	return s
}

// ColorWanted decides on colour the way https://no-color.org asks: only on a
// terminal, never when NO_COLOR is set to anything, and not on TERM=dumb.
func ColorWanted(tty bool, getenv func(string) string) bool {
	return tty && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// TestStreams returns streams backed by buffers, for tests.
func TestStreams() (s Streams, out, errOut *bytes.Buffer) {
	out, errOut = new(bytes.Buffer), new(bytes.Buffer)
	return Streams{In: strings.NewReader(""), Out: out, Err: errOut}, out, errOut
}

// isTerminal reports whether f is a character device. It is enough to decide
// on colours and progress bars; a wrong answer only changes cosmetics.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Format is the value of the -o flag.
type Format string

// The supported output formats. SARIF is offered only by commands that list it
// as an extra format (migrate lint, for code-scanning annotations).
const (
	FormatText  Format = "text"
	FormatJSON  Format = "json"
	FormatSARIF Format = "sarif"
)

// ParseFormat validates an -o value: text, json, or one of the command's extra formats.
func ParseFormat(s string, extra ...Format) (Format, error) {
	switch Format(s) {
	case FormatText, FormatJSON:
		return Format(s), nil
	}
	allowed := "text or json"
	for _, f := range extra {
		if Format(s) == f {
			return f, nil
		}
		allowed = strings.Replace(allowed, " or ", ", ", 1) + " or " + string(f)
	}
	return "", fmt.Errorf("unknown output format %q: use %s", s, allowed)
}

// Table is the text view of a result. Notes are printed after the rows, one
// per line (warnings that belong to the result, such as rows in a DEFAULT partition).
type Table struct {
	Header []string
	Rows   [][]string
	// Severities gives each row's severity, by row index; on a terminal it
	// colours the row's state column (STATE, STATUS or RESULT). A row
	// without one (a shorter slice, or SeverityNone) stays uncoloured. The
	// colour comes from the severity alone, never from the word in the cell.
	Severities []report.Severity
	Raw        string // printed as is, before the notes: SQL, reports that are not a grid
	Notes      []string
}

// stateColumns are the columns whose words get a colour on a terminal.
var stateColumns = map[string]bool{"STATE": true, "STATUS": true, "RESULT": true}

// severityColors maps a severity to its SGR colour; all codes have the same
// length, so that tabwriter, which counts bytes, still lines columns up.
var severityColors = map[report.Severity]string{
	report.SeverityNone:    "39", // the terminal's default colour
	report.SeverityOK:      "32", // green
	report.SeveritySkipped: "36", // cyan
	report.SeverityWarn:    "33", // yellow
	report.SeverityAction:  "35", // magenta
	report.SeverityError:   "31", // red
}

// colorize wraps every cell of the state columns (header included) in an SGR
// code of one fixed length: the column's invisible bytes are equal on every
// line, so the visible alignment is unchanged.
func (t Table) colorize() Table {
	cols := map[int]bool{}
	for i, h := range t.Header {
		if stateColumns[h] {
			cols[i] = true
		}
	}
	if len(cols) == 0 {
		return t
	}
	wrap := func(code, s string) string { return "\x1b[" + code + "m" + s + "\x1b[0m" }
	out := t
	out.Header = append([]string(nil), t.Header...)
	for i := range cols {
		out.Header[i] = wrap("39", out.Header[i])
	}
	out.Rows = make([][]string, len(t.Rows))
	for r, row := range t.Rows {
		out.Rows[r] = append([]string(nil), row...)
		sev := report.SeverityNone
		if r < len(t.Severities) && row != nil {
			sev = t.Severities[r]
		}
		code, ok := severityColors[sev]
		if !ok {
			code = "39"
		}
		for i := range cols {
			if i < len(row) {
				out.Rows[r][i] = wrap(code, row[i])
			}
		}
	}
	return out
}

// Row appends a row and its severity.
func (t *Table) Row(sev report.Severity, cells ...string) {
	for len(t.Severities) < len(t.Rows) {
		t.Severities = append(t.Severities, report.SeverityNone)
	}
	t.Rows = append(t.Rows, cells)
	t.Severities = append(t.Severities, sev)
}

// Write prints the table with fixed padding. A cell's lines are joined into
// one and control characters are escaped: index, bucket and partition names
// come from servers and must not be able to move the cursor.
func (t Table) Write(w io.Writer) error { return t.write(w, false) }

// WriteColor is Write with the state words coloured.
func (t Table) WriteColor(w io.Writer) error { return t.write(w, true) }

func (t Table) write(w io.Writer, color bool) error {
	if len(t.Header) > 0 || len(t.Rows) > 0 {
		clean := Table{Header: cleanRow(t.Header), Rows: make([][]string, len(t.Rows)), Severities: t.Severities}
		for i, r := range t.Rows {
			clean.Rows[i] = cleanRow(r)
		}
		if color {
			clean = clean.colorize()
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if len(clean.Header) > 0 {
			fmt.Fprintln(tw, strings.Join(clean.Header, "\t"))
		}
		for _, r := range clean.Rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if t.Raw != "" {
		if _, err := fmt.Fprintln(w, t.Raw); err != nil {
			return err
		}
	}
	for _, n := range t.Notes {
		if _, err := fmt.Fprintln(w, Clean(n)); err != nil {
			return err
		}
	}
	return nil
}

func cleanRow(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = Clean(c)
	}
	return out
}

// OneLine joins the lines of a message into one without losing any: a
// multi-line error (pgconn lists every address it tried, errors.Join puts one
// error per line) keeps its cause. Lines are joined with "; ", or with a space
// after a line ending in ":", and a line repeating the previous one is dropped.
func OneLine(s string) string {
	var b strings.Builder
	prev := ""
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == '\f' }) {
		line = strings.TrimSpace(line)
		if line == "" || line == prev {
			continue
		}
		switch {
		case b.Len() == 0:
		case strings.HasSuffix(prev, ":"):
			b.WriteString(" ")
		default:
			b.WriteString("; ")
		}
		b.WriteString(line)
		prev = line
	}
	return b.String()
}

// Clean makes a server-supplied string safe for one table cell: its lines are
// joined (OneLine: an error's cause is often on its second line) and control
// characters are escaped.
func Clean(s string) string {
	if strings.ContainsAny(s, "\r\n\f") {
		s = OneLine(s)
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// Render writes v as indented JSON, or as its table view for people. Both come
// from the same value, so they cannot drift apart.
func Render(s Streams, f Format, v any, view func() Table) error {
	if f == FormatJSON {
		return JSON(s.Out, v)
	}
	return view().write(s.Out, s.Color)
}

// JSON writes v as one indented JSON document.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Time formats t for a table cell: RFC 3339 in UTC, or "-" when unset.
// Tables never show relative times: cron mail is read hours later.
func Time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Bytes formats a byte count with a binary unit.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
