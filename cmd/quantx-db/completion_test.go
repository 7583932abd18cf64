package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
)

// completion is what 'quantx-db __complete ARGS' answered: the candidates
// (without their descriptions), the directive, and what went to stderr.
type completion struct {
	values    []string
	described map[string]string // candidate: description
	directive cobra.ShellCompDirective
	stderr    string
	took      time.Duration
}

// complete asks for the candidates of the last word of args, as the shells' scripts do.
func complete(t *testing.T, env map[string]string, args ...string) completion {
	t.Helper()
	start := time.Now()
	r := runCLI(t, env, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	c := completion{described: map[string]string{}, stderr: r.stderr, took: time.Since(start)}
	if r.code != exitOK {
		t.Fatalf("__complete %q: exit %d\n%s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	d, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("__complete %q: no directive line\n%s", args, r.stdout)
	}
	c.directive = cobra.ShellCompDirective(d)
	for _, l := range lines[:len(lines)-1] {
		v, desc, _ := strings.Cut(l, "\t")
		c.values = append(c.values, v)
		c.described[v] = desc
	}
	return c
}

func (c completion) noFiles() bool { return c.directive&cobra.ShellCompDirectiveNoFileComp != 0 }

// TestCompletionListsBackupsOfTheBucket: with backups in the bucket (real S3,
// real pg_dump), __complete offers "latest" and their IDs, newest first, of
// the command's kind; the databases they are of; and nothing but that.
func TestCompletionListsBackupsOfTheBucket(t *testing.T) {
	t.Parallel()
	env, db, _ := backupEnv(t)
	execSQL(t, db.URL, `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)`)
	older := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, env, "backup", "postgres", "-o", "json").stdout)
	newer := decodeJSON[backup.Manifest](t, mustCLI(t, exitOK, env, "backup", "postgres", "-o", "json").stdout)

	for _, args := range [][]string{{"backup", "verify", ""}, {"restore", "postgres", ""}} {
		c := complete(t, env, args...)
		if want := []string{"latest", newer.ID, older.ID}; !slices.Equal(c.values, want) {
			t.Errorf("%q: %q, want %q (latest, then newest first)", args, c.values, want)
		}
		if !c.noFiles() || c.directive&cobra.ShellCompDirectiveKeepOrder == 0 {
			t.Errorf("%q: directive %d, want no files and this order", args, c.directive)
		}
		if d := c.described[newer.ID]; !strings.HasPrefix(d, "postgres t_testcompletion") || !strings.Contains(d, newer.StartedAt.UTC().Format("2006-01-02 15:04")) {
			t.Errorf("%q: description of %s: %q", args, newer.ID, d)
		}
		if !strings.Contains(c.described["latest"], db.Name) {
			t.Errorf("%q: latest is described as %q, not as the newest backup of %s", args, c.described["latest"], db.Name)
		}
		if c.stderr != "" || strings.Contains(strings.Join(c.values, " "), env["QUANTX_S3_SECRET_KEY"]) {
			t.Errorf("%q: stderr %q", args, c.stderr)
		}
	}
	// Of the command's kind only; a prefix narrows; after the ID, nothing more.
	if c := complete(t, env, "restore", "influx", ""); !slices.Equal(c.values, []string{"latest"}) {
		t.Errorf("restore influx: %q, want latest alone (no influx backup)", c.values)
	}
	if c := complete(t, env, "backup", "verify", newer.ID[:15]); !slices.Contains(c.values, newer.ID) || slices.Contains(c.values, "latest") {
		t.Errorf("prefix %s: %q", newer.ID[:15], c.values)
	}
	if c := complete(t, env, "restore", "postgres", newer.ID, ""); len(c.values) != 0 || !c.noFiles() {
		t.Errorf("a second ID: %q", c.values)
	}
	// --kind and --database select what latest means; an ID is refused with them.
	if c := complete(t, env, "backup", "verify", "--database", db.Name, ""); !slices.Equal(c.values, []string{"latest"}) {
		t.Errorf("verify --database: %q, want latest alone", c.values)
	}
	// The databases of the catalogue, by kind.
	if c := complete(t, env, "backup", "list", "--database", ""); !slices.Equal(c.values, []string{db.Name}) || !c.noFiles() {
		t.Errorf("backup list --database: %q, want %s", c.values, db.Name)
	}
	if c := complete(t, env, "restore", "postgres", "--database", ""); !slices.Equal(c.values, []string{db.Name}) {
		t.Errorf("restore postgres --database: %q, want %s", c.values, db.Name)
	}
	if c := complete(t, env, "backup", "list", "--kind", "influx", "--database", ""); len(c.values) != 0 {
		t.Errorf("backup list --kind influx --database: %q, want none", c.values)
	}
	if c := complete(t, env, "status", "--influx-database", ""); !slices.Equal(c.values, []string{"quantx_db"}) {
		t.Errorf("--influx-database: %q, want the default quantx_db", c.values)
	}
}

// recordingListener accepts connections on loopback, counts them and never
// answers: a store that is there but hangs.
func recordingListener(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int64{}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			accepted.Add(1)
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String(), accepted
}

// TestCompletionWithoutABucketConnectsNowhere: every store but the bucket
// points at a listener that records connections, and the S3 endpoint is set
// without a bucket. No completion connects; backup IDs complete to nothing;
// what needs no store still completes.
func TestCompletionWithoutABucketConnectsNowhere(t *testing.T) {
	t.Parallel()
	addr, accepted := recordingListener(t)
	env := map[string]string{
		"QUANTX_DATABASE_URL": "postgres://u:Hunter2-Zq9@" + addr + "/db",
		"QUANTX_INFLUX_URL":   "http://" + addr, "QUANTX_INFLUX_TOKEN": "admin:Hunter2-Zq9",
		"QUANTX_ELASTIC_URL": "http://" + addr, "QUANTX_S3_ENDPOINT": addr, "QUANTX_S3_SECRET_KEY": "Hunter2-Zq9",
		"QUANTX_PGBACKREST_CONFIG": filepath.Join(t.TempDir(), "none.conf"),
	}
	for _, e := range []map[string]string{env, nil} { // nil: no setting at all
		for _, args := range [][]string{
			{"backup", "verify", ""}, {"restore", "postgres", ""}, {"restore", "influx", ""},
			{"backup", "list", "--database", ""}, {"backup", "verify", "--database", ""},
		} {
			c := complete(t, e, args...)
			if len(c.values) != 0 || !c.noFiles() || c.stderr != "" || c.took > 2*time.Second {
				t.Errorf("%q: %q (directive %d) in %s, stderr %q; want nothing, at once", args, c.values, c.directive, c.took, c.stderr)
			}
		}
		for _, args := range [][]string{{"migrate", "goto", ""}, {"elastic", "reindex", ""}, {"status", "--influx-database", ""}, {"migrate", "status", "-o", ""}} {
			if c := complete(t, e, args...); len(c.values) == 0 || c.stderr != "" {
				t.Errorf("%q: %q, stderr %q", args, c.values, c.stderr)
			}
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("completion connected %d time(s) to a configured store", n)
	}
}

// TestCompletionOfAHungBucketReturnsInTime: an S3 server that accepts and
// never answers, or refuses: the completion returns within 2 s with what is
// known without it ("latest"), never files.
func TestCompletionOfAHungBucketReturnsInTime(t *testing.T) {
	t.Parallel()
	hung, accepted := recordingListener(t)
	for _, endpoint := range []string{hung, closedPort(t)} {
		env := map[string]string{"QUANTX_S3_ENDPOINT": endpoint, "QUANTX_S3_BUCKET": "quantx-hung", "QUANTX_S3_ACCESS_KEY": "k", "QUANTX_S3_SECRET_KEY": "Hunter2-Zq9"}
		c := complete(t, env, "backup", "verify", "")
		if !slices.Equal(c.values, []string{"latest"}) || !c.noFiles() || c.took > 2*time.Second || c.stderr != "" {
			t.Errorf("%s: %q (directive %d) in %s, stderr %q; want latest alone within 2 s", endpoint, c.values, c.directive, c.took, c.stderr)
		}
		c = complete(t, env, "restore", "influx", "--database", "")
		if !slices.Equal(c.values, []string{"quantx_db"}) || c.took > 2*time.Second {
			t.Errorf("%s: restore influx --database: %q in %s", endpoint, c.values, c.took)
		}
	}
	if accepted.Load() == 0 {
		t.Fatal("the hung server was never asked: the test proves nothing")
	}
}

// TestCompletionOfEnumFlagsVersionsAndIndices: every flag that takes one of
// a few values completes them (and never files); -o offers sarif only for
// migrate lint; versions and indices come from the embedded definitions.
func TestCompletionOfEnumFlagsVersionsAndIndices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"status", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
		{[]string{"migrate", "up", "--log-format", ""}, []string{"text", "json"}},
		{[]string{"elastic", "setup", "--elastic-engine", ""}, []string{"auto", "elasticsearch", "opensearch"}},
		{[]string{"status", "--s3-tls="}, []string{"true", "false"}}, // an optional value: only after =
		{[]string{"backup", "list", "--kind", ""}, []string{"postgres", "influx", "physical"}},
		{[]string{"backup", "info", "--kind", "p"}, []string{"postgres", "physical"}},
		{[]string{"backup", "verify", "--kind", ""}, []string{"postgres", "influx"}},
		{[]string{"backup", "physical", "--type", ""}, []string{"full", "diff", "incr"}},
		{[]string{"testenv", "up", "--provider", ""}, []string{"auto", "local", "docker"}},
		{[]string{"provision", "--only", "postgres,"}, []string{"postgres,influx", "postgres,elastic"}},
		{[]string{"status", "-o", ""}, []string{"text", "json"}},
		{[]string{"migrate", "lint", "-o", ""}, []string{"text", "json", "sarif"}},
		{[]string{"migrate", "lint", "--disable", "ban-drop-t"}, []string{"ban-drop-table"}},
		{[]string{"migrate", "goto", ""}, []string{"-1", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{[]string{"migrate", "force", ""}, []string{"-1", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{[]string{"migrate", "baseline", ""}, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{[]string{"migrate", "lint", "--since", "8"}, []string{"8"}},
		{[]string{"elastic", "reindex", ""}, []string{"activity", "documents", "instruments"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"help", "migrate", "st"}, []string{"status"}},
		{[]string{"migrate", "status", ""}, nil},
		{[]string{"backup", "postgres", "--database-url", ""}, nil},
	} {
		c := complete(t, nil, tc.args...)
		if !slices.Equal(c.values, tc.want) || !c.noFiles() || c.stderr != "" {
			t.Errorf("%q: %q (directive %d, stderr %q), want %q and no files", tc.args, c.values, c.directive, c.stderr, tc.want)
		}
	}
	// A folder flag completes folders; a file flag, files.
	if c := complete(t, nil, "restore", "pitr", "--pgdata", ""); c.directive&cobra.ShellCompDirectiveFilterDirs == 0 {
		t.Errorf("--pgdata: directive %d, want folders", c.directive)
	}
	if c := complete(t, nil, "status", "--config", ""); c.directive != cobra.ShellCompDirectiveDefault {
		t.Errorf("--config: directive %d, want files", c.directive)
	}
	// The migrations of --source, not the embedded ones.
	src := t.TempDir()
	for _, f := range []string{"0041_a.up.sql", "0041_a.down.sql", "0042_b.up.sql"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte("SELECT 1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if c := complete(t, nil, "migrate", "lint", "--source", src, "--since", ""); !slices.Equal(c.values, []string{"41", "42"}) || c.described["42"] != "b" {
		t.Errorf("--since with --source: %q %v", c.values, c.described)
	}
}

// TestCompletionScriptsGenerate: the three shells' scripts are printed, and
// the bash one, sourced in a real bash, completes through __complete.
func TestCompletionScriptsGenerate(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := runCLI(t, nil, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, "__complete") || r.stderr != "" {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, r.code, len(r.stdout), r.stderr)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	bin := binary(t)
	// bash-completion's _get_comp_words_by_ref, for lines without = or : (the
	// package need not be installed), and compopt, which only works on a real TAB.
	script := `
_get_comp_words_by_ref() {
  [[ $1 == -n ]] && shift 2
  cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]:0:COMP_CWORD+1}"); cword=$COMP_CWORD
}
compopt() { :; }
source <(quantx-db completion bash)
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); __start_quantx-db; echo "${COMPREPLY[*]}"; }
comp quantx-db backup physical --type ""
comp quantx-db migrate go
comp quantx-db elastic reindex ins
`
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash: %v\n%s", err, errOut.String())
	}
	if got, want := out.String(), "full diff incr\ngoto\ninstruments\n"; got != want {
		t.Fatalf("bash completions:\n%s\nwant:\n%s\nstderr: %s", got, want, errOut.String())
	}
}
