package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// progressFixture makes a database with a few tables and a backup of it, and
// returns the environment, the backup ID and a fresh target database URL.
func progressFixture(t *testing.T) (env map[string]string, id string) {
	t.Helper()
	env, db, _ := backupEnv(t)
	execSQL(t, db.URL, `CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
		CREATE TABLE b (id int); INSERT INTO b SELECT generate_series(1, 500); CREATE INDEX b_id ON b (id);
		CREATE TABLE c (id int)`)
	if r := runCLI(t, env, "backup", "postgres"); r.code != exitOK {
		t.Fatalf("backup postgres: exit %d: %s", r.code, r.stderr)
	}
	return env, listBackups(t, env).Backups[0].ID
}

// screen is the little of a terminal that progress output uses: text,
// carriage return, newline, cursor up (CSI n A) and erase (CSI J/K). It
// tells where the cursor is after the output, and keeps every line ever shown.
type screen struct {
	lines    []string
	row, col int
	shown    []string // every line as it was when the cursor left it
}

var csiRE = regexp.MustCompile(`^\x1b\[([0-9;?]*)([A-Za-z])`)

func (s *screen) feed(b []byte) {
	for len(b) > 0 {
		for len(s.lines) <= s.row {
			s.lines = append(s.lines, "")
		}
		if m := csiRE.FindSubmatch(b); m != nil {
			switch m[2][0] {
			case 'A':
				n, _ := strconv.Atoi(string(m[1]))
				s.row = max(s.row-max(n, 1), 0)
			case 'J':
				s.lines = s.lines[:s.row+1]
				s.lines[s.row] = cut(s.lines[s.row], s.col)
			case 'K':
				s.lines[s.row] = cut(s.lines[s.row], s.col)
			}
			b = b[len(m[0]):]
			continue
		}
		switch b[0] {
		case '\r':
			s.col = 0
		case '\n':
			s.shown = append(s.shown, s.lines[s.row])
			s.row++
			s.col = 0 // the pty's onlcr turns \n into \r\n
		default:
			line := []rune(s.lines[s.row])
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			r, size := []rune(string(b))[0], 1
			if b[0] >= 0x80 {
				size = len(string(r))
			}
			line[s.col] = r
			s.lines[s.row] = string(line)
			s.col++
			b = b[size:]
			continue
		}
		b = b[1:]
	}
}

func cut(s string, col int) string {
	r := []rune(s)
	if col < len(r) {
		return string(r[:col])
	}
	return s
}

// TestProgressBarOnTerminal runs a restore with --jobs and --verify with
// stderr on a pseudo-terminal: the download, pg_restore's items and the
// verification show as bars with counts and percentages, and when the command
// ends the cursor is at the start of a line (the old counter left it 45
// columns into the next one).
func TestProgressBarOnTerminal(t *testing.T) {
	t.Parallel()
	env, id := progressFixture(t)
	dst, _, _ := backupEnv(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 140}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), binary(t), "restore", "postgres", id, "--target-database-url", dst["QUANTX_DATABASE_URL"], "--jobs", "2", "--verify")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TERM=xterm"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var raw bytes.Buffer
	readDone := make(chan error, 1)
	go func() {
		_, err := io.Copy(&raw, ptmx)
		readDone <- err
	}()
	werr := cmd.Wait()
	if err := <-readDone; err != nil && !errors.Is(err, syscall.EIO) { // EIO: the last writer closed the terminal
		t.Fatalf("read terminal: %v", err)
	}
	if werr != nil {
		t.Fatalf("restore: %v\nstdout:\n%s\nterminal:\n%q", werr, stdout.String(), raw.String())
	}
	var sc screen
	sc.feed(raw.Bytes())
	all := strings.Join(sc.shown, "\n") + "\n" + strings.Join(sc.lines, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`download ` + regexp.QuoteMeta(id) + ` .*KiB / .*KiB.*\[[=>-]+\].* %`),
		regexp.MustCompile(`restore ` + regexp.QuoteMeta(id) + ` +\d+ / [1-9]\d* items.*\[[=>-]+\].* %`),
		regexp.MustCompile(`verify ` + regexp.QuoteMeta(id) + ` +\d+ / 3 tables`),
	} {
		if !want.MatchString(all) {
			t.Errorf("no bar matching %s on the terminal:\n%s\nraw: %q", want, all, raw.String())
		}
	}
	if sc.col != 0 {
		t.Errorf("after the bars the cursor is in column %d, want 0 (raw: %q)", sc.col, raw.String())
	}
	if !strings.Contains(stdout.String(), "restored "+id) {
		t.Errorf("result on stdout: %q", stdout.String())
	}
}

// TestProgressOffTerminal: with stderr not a terminal and text logs, a
// successful restore writes nothing at all to stderr (quiet success, and no
// progress); with JSON logs each phase is logged at info, start and end.
func TestProgressOffTerminal(t *testing.T) {
	t.Parallel()
	env, id := progressFixture(t)
	dst1, _, _ := backupEnv(t)
	r := runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst1["QUANTX_DATABASE_URL"], "--jobs", "2", "--verify")
	if r.code != exitOK {
		t.Fatalf("restore: exit %d: %s", r.code, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("stderr of a successful restore off a terminal, want nothing:\n%s", r.stderr)
	}

	dst2, _, _ := backupEnv(t)
	r = runCLI(t, env, "restore", "postgres", id, "--target-database-url", dst2["QUANTX_DATABASE_URL"], "--jobs", "2", "--verify", "--log-format", "json")
	if r.code != exitOK {
		t.Fatalf("restore --log-format json: exit %d: %s", r.code, r.stderr)
	}
	type record struct {
		Level, Msg, Phase, Subject, Unit string
		Done, Total                      int64
		End                              bool
	}
	ended := map[string]record{}
	started := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	for sc.Scan() {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", sc.Text())
		}
		if rec.Msg != "progress" {
			continue
		}
		if rec.Level != "INFO" || rec.Subject != id {
			t.Errorf("progress record: %+v", rec)
		}
		if rec.End {
			ended[rec.Phase] = rec
		} else {
			started[rec.Phase] = true
		}
	}
	for phase, unit := range map[string]string{"download": "bytes", "restore": "items", "verify": "tables"} {
		rec, ok := ended[phase]
		if !started[phase] || !ok {
			t.Errorf("phase %s: started %v, ended %v; stderr:\n%s", phase, started[phase], ok, r.stderr)
			continue
		}
		if rec.Unit != unit || rec.Total == 0 || rec.Done != rec.Total {
			t.Errorf("phase %s ended with %+v, want %s done of the total", phase, rec, unit)
		}
	}
}

// TestIndexBuildProgressRecords: migrate up's concurrent index builds are
// reported as progress records with JSON logs, and not at all in text off a
// terminal (where the result table is all there is on success).
func TestIndexBuildProgressRecords(t *testing.T) {
	t.Parallel()
	env, _ := dbEnv(t)
	r := runCLI(t, env, "migrate", "up", "--log-format", "json")
	if r.code != exitOK {
		t.Fatalf("migrate up: exit %d %s", r.code, r.stderr)
	}
	for _, want := range []string{`"msg":"progress","phase":"build index","subject":"idx_orders_retention"`, `"end":true`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no %s in the JSON logs:\n%s", want, r.stderr)
		}
	}
	env2, _ := dbEnv(t)
	if r := runCLI(t, env2, "migrate", "up"); r.code != exitOK || r.stderr != "" || !strings.Contains(r.stdout, "migrated from version none to") {
		t.Errorf("quiet migrate up: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
}
