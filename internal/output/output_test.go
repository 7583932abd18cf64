package output

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/report"
)

var sgr = regexp.MustCompile("\x1b\\[[0-9]+m")

func statusTable() Table {
	t := Table{Header: []string{"STORE", "CHECK", "STATE", "DETAIL"}}
	t.Row(report.SeverityOK, "postgres", "migrations", "ok", "version 9")
	t.Row(report.SeverityAction, "postgres", "partitions", "action", "rows in DEFAULT")
	t.Row(report.SeverityWarn, "s3", "backup postgres", "warn", "no backup yet")
	t.Row(report.SeveritySkipped, "elastic", "configured", "skipped", "not configured")
	t.Row(report.SeverityError, "influx", "connect", "error", "refused")
	// The word does not decide the colour: a completed change (provision) and
	// a pending one (elastic status) are both "changed".
	t.Row(report.SeverityOK, "postgres", "provision", "changed", "done")
	t.Row(report.SeverityAction, "elastic", "orders", "changed", "edited since applied")
	t.Rows = append(t.Rows, []string{"influx", "drift", "no-severity", "evil \x1b[2J name"})
	return t
}

func TestColorKeepsAlignment(t *testing.T) {
	var plain, color bytes.Buffer
	if err := statusTable().Write(&plain); err != nil {
		t.Fatal(err)
	}
	if err := statusTable().WriteColor(&color); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Fatalf("plain output has escape codes:\n%q", plain.String())
	}
	if got := sgr.ReplaceAllString(color.String(), ""); got != plain.String() {
		t.Fatalf("coloured output, codes removed, differs from plain:\n%s\nwant:\n%s", got, plain.String())
	}
	for _, want := range []string{"\x1b[32mok\x1b[0m", "\x1b[35maction\x1b[0m", "\x1b[33mwarn\x1b[0m", "\x1b[36mskipped\x1b[0m",
		"\x1b[31merror\x1b[0m", "\x1b[32mchanged\x1b[0m", "\x1b[35mchanged\x1b[0m", "\x1b[39mno-severity\x1b[0m"} {
		if !strings.Contains(color.String(), want) {
			t.Errorf("missing %q in\n%q", want, color.String())
		}
	}
	// A server-supplied escape in a cell is still neutralised.
	if strings.Contains(color.String(), "\x1b[2J") {
		t.Errorf("a cell's own escape sequence got through: %q", color.String())
	}
}

func TestColorWanted(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name string
		tty  bool
		env  func(string) string
		want bool
	}{
		{"terminal", true, env("TERM", "xterm-256color"), true},
		{"pipe", false, env("TERM", "xterm"), false},
		{"NO_COLOR set", true, env("NO_COLOR", "1"), false},
		{"NO_COLOR any value", true, env("NO_COLOR", "false"), false},
		{"dumb terminal", true, env("TERM", "dumb"), false},
	}
	for _, tt := range tests {
		if got := ColorWanted(tt.tty, tt.env); got != tt.want {
			t.Errorf("%s: ColorWanted = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestJSONIsNeverColoured(t *testing.T) {
	s, out, _ := TestStreams()
	s.Color = true
	if err := Render(s, FormatJSON, map[string]string{"state": "ok"}, statusTable); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Fatalf("JSON has escape codes: %q", out.String())
	}
}

// TestCleanKeepsTheCause: a multi-line error in a cell stays one line and
// keeps its second line (pgconn puts the cause there), with no control
// character left to move the cursor.
func TestCleanKeepsTheCause(t *testing.T) {
	got := Clean("failed to connect to `user=u database=db`:\n\t127.0.0.1:1: connection refused\r\n\x1b[2Jx\tz")
	want := "failed to connect to `user=u database=db`: 127.0.0.1:1: connection refused; ?[2Jx z"
	if got != want {
		t.Fatalf("Clean = %q, want %q", got, want)
	}
}
