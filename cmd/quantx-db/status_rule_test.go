package main

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/internal/testenv"
)

// verdictDocT is the part every status verb's JSON document shares
// (statusVerdict), decoded with unknown keys refused.
type verdictDocT struct {
	CheckedAt   string     `json:"checked_at"`
	State       string     `json:"state"`
	NeedsAction bool       `json:"needs_action"`
	Errors      bool       `json:"errors"`
	Error       *errorBody `json:"error"`
}

// verdictKeys are the top-level keys of verdictDocT.
var verdictKeys = []string{"checked_at", "state", "needs_action", "errors", "error"}

// decodeStatus decodes a status verb's JSON document as T, with unknown keys
// refused, after checking its shared keys (decodeVerdict).
func decodeStatus[T any](t *testing.T, s string) T {
	t.Helper()
	_, v := decodeVerdict[T](t, s)
	return v
}

// decodeVerdict decodes a status verb's JSON document: the keys every status
// verb shares, and the rest as T, both with unknown keys refused.
func decodeVerdict[T any](t *testing.T, s string) (verdictDocT, T) {
	t.Helper()
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &all); err != nil {
		t.Fatalf("status document: %v\n%s", err, s)
	}
	var own map[string]json.RawMessage // the keys T has itself (checked_at, for some)
	if zero, err := json.Marshal(new(T)); err == nil {
		_ = json.Unmarshal(zero, &own)
	}
	head, rest := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for k, v := range all {
		shared := false
		for _, vk := range verdictKeys {
			shared = shared || k == vk
		}
		if shared {
			head[k] = v
			if _, ok := own[k]; !ok {
				continue
			}
		}
		rest[k] = v
	}
	hb, _ := json.Marshal(head)
	rb, _ := json.Marshal(rest)
	return decodeJSON[verdictDocT](t, string(hb)), decodeJSON[T](t, string(rb))
}

// statusState is one state of a store a status verb reads, and what the verb
// must make of it.
type statusState struct {
	name    string
	code    int      // the exit code by default (and with --exit-code)
	states  []string // the verdict's state: the worst line
	prepare func(t *testing.T) func(args ...string) cliResult
}

// TestStatusVerbsShareOneExitCodeRule: every status verb, against real
// servers, exits 0 on a clean state, 3 on a state that needs action, 1 when
// its store cannot be read, and 0 whatever it found with --exit-code=false;
// its JSON is one document whose first keys are the same for every verb.
func TestStatusVerbsShareOneExitCodeRule(t *testing.T) {
	t.Parallel()
	okStates := []string{"ok", "warn", "skipped"}
	verbs := []struct {
		verb   []string
		states func(t *testing.T) []statusState
	}{
		{[]string{"migrate", "status"}, func(t *testing.T) []statusState {
			run := func(env map[string]string) func(args ...string) cliResult {
				return func(args ...string) cliResult {
					return runCLI(t, env, append([]string{"migrate", "status"}, args...)...)
				}
			}
			return []statusState{
				{"clean", exitOK, okStates, func(t *testing.T) func(...string) cliResult { env, _ := migratedEnv(t, 0); return run(env) }},
				{"pending", exitCheck, []string{"action"}, func(t *testing.T) func(...string) cliResult { env, _ := dbEnv(t); return run(env) }},
				{"unreachable", exitFailure, []string{"error"}, func(t *testing.T) func(...string) cliResult {
					return run(map[string]string{"QUANTX_DATABASE_URL": "postgres://u:pw@" + closedPort(t) + "/db"})
				}},
			}
		}},
		{[]string{"influx", "status"}, func(t *testing.T) []statusState {
			env, in := influxEnv(t)
			run := func(env map[string]string) func(args ...string) cliResult {
				return func(args ...string) cliResult {
					return runCLI(t, env, append([]string{"influx", "status", "--database", in.Database}, args...)...)
				}
			}
			return []statusState{
				{"drift", exitCheck, []string{"action"}, func(*testing.T) func(...string) cliResult { return run(env) }},
				{"clean", exitOK, okStates, func(t *testing.T) func(...string) cliResult {
					mustCLI(t, exitOK, env, "influx", "setup", "--database", in.Database)
					return run(env)
				}},
				{"unreachable", exitFailure, []string{"error"}, func(t *testing.T) func(...string) cliResult {
					return run(map[string]string{"QUANTX_INFLUX_URL": "http://" + closedPort(t), "QUANTX_INFLUX_TOKEN": in.Token})
				}},
			}
		}},
		{[]string{"elastic", "status"}, func(t *testing.T) []statusState {
			srv := testenv.Search(t, "opensearch")
			env := map[string]string{"QUANTX_ELASTIC_URL": srv.URL}
			run := func(env map[string]string) func(args ...string) cliResult {
				return func(args ...string) cliResult {
					return runCLI(t, env, append([]string{"elastic", "status", "--index-prefix", srv.Prefix}, args...)...)
				}
			}
			return []statusState{
				{"drift", exitCheck, []string{"action"}, func(*testing.T) func(...string) cliResult { return run(env) }},
				{"clean", exitOK, okStates, func(t *testing.T) func(...string) cliResult {
					mustCLI(t, exitOK, env, "elastic", "setup", "--index-prefix", srv.Prefix)
					return run(env)
				}},
				{"unreachable", exitFailure, []string{"error"}, func(t *testing.T) func(...string) cliResult {
					return run(map[string]string{"QUANTX_ELASTIC_URL": "http://" + closedPort(t)})
				}},
			}
		}},
		{[]string{"status"}, func(t *testing.T) []statusState {
			env, extra, _, _ := stackEnv(t)
			env["QUANTX_PGBACKREST_CONFIG"] = filepath.Join(t.TempDir(), "none.conf") // no WAL archiving here
			run := func(env map[string]string) func(args ...string) cliResult {
				return func(args ...string) cliResult {
					return runCLI(t, env, append(append([]string{"status"}, extra...), args...)...)
				}
			}
			return []statusState{
				{"not provisioned", exitCheck, []string{"action"}, func(*testing.T) func(...string) cliResult { return run(env) }},
				{"clean", exitOK, okStates, func(t *testing.T) func(...string) cliResult {
					mustCLI(t, exitOK, env, append([]string{"provision"}, extra...)...)
					return run(env)
				}},
				{"postgres unreachable", exitFailure, []string{"error"}, func(t *testing.T) func(...string) cliResult {
					down := maps.Clone(env)
					down["QUANTX_DATABASE_URL"] = "postgres://u:pw@" + closedPort(t) + "/db"
					return run(down)
				}},
			}
		}},
		{[]string{"wal", "status"}, func(t *testing.T) []statusState {
			e := newPITREnv(t, testenv.S3TLS(t), testenv.ClusterOptions{})
			run := func(args ...string) cliResult { return e.cli(append([]string{"wal", "status"}, args...)...) }
			return []statusState{
				{"archiving", exitOK, okStates, func(t *testing.T) func(...string) cliResult {
					e.setup()
					e.must("backup", "physical")
					return run
				}},
				{"archive_command not pgBackRest's", exitCheck, []string{"action"}, func(t *testing.T) func(...string) cliResult {
					conn := pitrConnect(t, e.c.Port, "postgres")
					pitrExec(t, conn, "ALTER SYSTEM SET archive_command = '/bin/false'")
					pitrExec(t, conn, "SELECT pg_reload_conf()")
					waitSetting(t, e.c.Port, "archive_command", "/bin/false")
					return run
				}},
				{"server down", exitFailure, []string{"error"}, func(t *testing.T) func(...string) cliResult {
					e.c.Stop(t, "fast")
					// status's 'wal archiving' line agrees: an error, exit 1 (not "archiving fails").
					r := e.cliEnv([]string{"QUANTX_S3_BUCKET="}, "status", "-o", "json")
					if it := statusItem(decodeJSON[statusDoc](t, r.stdout), "postgres", "wal archiving"); r.code != exitFailure || it.State != "error" {
						t.Errorf("status with the server down: exit %d, wal archiving %+v", r.code, it)
					}
					return run
				}},
			}
		}},
	}
	for _, v := range verbs {
		t.Run(strings.Join(v.verb, " "), func(t *testing.T) {
			t.Parallel()
			for _, st := range v.states(t) {
				run := st.prepare(t)
				r := run("-o", "json")
				verdict := checkVerdict(t, st, r)
				if r.code != st.code || !slices.Contains(st.states, verdict.State) {
					t.Fatalf("%s: exit %d and state %q, want %d and one of %v\nstdout %s\nstderr %s", st.name, r.code, verdict.State, st.code, st.states, r.stdout, r.stderr)
				}
				if r := run("--exit-code", "-o", "json"); r.code != st.code {
					t.Errorf("%s --exit-code: exit %d, want %d", st.name, r.code, st.code)
				}
				quiet := run("--exit-code=false", "-o", "json")
				if quiet.code != exitOK {
					t.Errorf("%s --exit-code=false: exit %d, want 0\n%s", st.name, quiet.code, quiet.stderr)
				}
				if v := checkVerdict(t, st, quiet); v.State != verdict.State || (v.Error == nil) != (verdict.Error == nil) {
					t.Errorf("%s --exit-code=false: verdict %+v, want %+v", st.name, v, verdict)
				}
				text := run()
				if text.code != st.code || (st.code == exitOK) != (text.stderr == "") {
					t.Errorf("%s as text: exit %d, want %d; stderr %q", st.name, text.code, st.code, text.stderr)
				}
				if st.code != exitOK && !strings.Contains(text.stderr, "hint: ") {
					t.Errorf("%s as text: no hint on stderr %q", st.name, text.stderr)
				}
			}
		})
	}
}

// checkVerdict checks a status verb's JSON document: one document, whose
// shared keys come first and agree with each other, with an error exactly
// when a store could not be read.
func checkVerdict(t *testing.T, st statusState, r cliResult) verdictDocT {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var first map[string]json.RawMessage
	if err := dec.Decode(&first); err != nil || dec.More() {
		t.Fatalf("%s: not one JSON document (%v)\n%s", st.name, err, r.stdout)
	}
	for _, k := range []string{"checked_at", "state", "needs_action", "errors"} {
		if _, ok := first[k]; !ok {
			t.Errorf("%s: no %q key\n%s", st.name, k, r.stdout)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(r.stdout), "{\n  \"checked_at\": ") {
		t.Errorf("%s: the shared keys do not come first\n%s", st.name, r.stdout)
	}
	var v verdictDocT
	if err := json.Unmarshal(first["state"], &v.State); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(first["needs_action"], &v.NeedsAction)
	_ = json.Unmarshal(first["errors"], &v.Errors)
	if raw, ok := first["error"]; ok {
		v.Error = &errorBody{}
		if err := json.Unmarshal(raw, v.Error); err != nil || v.Error.Message == "" {
			t.Errorf("%s: error %s", st.name, raw)
		}
		if strings.Contains(v.Error.Message, ":pw@") {
			t.Errorf("%s: the password is printed: %s", st.name, v.Error.Message)
		}
	}
	if v.Errors != (v.State == "error") || (v.Error != nil) != (v.State == "error") || (v.State == "action" && !v.NeedsAction) {
		t.Errorf("%s: verdict does not add up: %+v", st.name, v)
	}
	return v
}

// waitSetting waits until new sessions of the server on port see setting at
// want (pg_reload_conf only signals the postmaster).
func waitSetting(t *testing.T, port int, setting, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn := pitrConnect(t, port, "postgres")
		var got string
		if err := conn.QueryRow(t.Context(), "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		conn.Close(t.Context())
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still %q after a reload, want %q", setting, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestVerdictDocKeepsTheSharedKeysFirst: the verdict's keys come first, a key
// the report has too is written once (the verdict's), the report's own keys
// follow in their order.
func TestVerdictDocKeepsTheSharedKeysFirst(t *testing.T) {
	type rep struct {
		CheckedAt string `json:"checked_at"`
		Zeta      int    `json:"zeta"`
		Errors    bool   `json:"errors"`
		Alpha     string `json:"alpha"`
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	b, err := json.Marshal(verdictDoc{verdict: newVerdict(at, findings{worst: report.SeverityAction, action: true}),
		report: rep{CheckedAt: "other", Zeta: 1, Errors: true, Alpha: "a"}})
	want := `{"checked_at":"2026-11-30T12:00:00Z","state":"action","needs_action":true,"errors":false,"zeta":1,"alpha":"a"}`
	if err != nil || string(b) != want {
		t.Fatalf("%s %v\nwant %s", b, err, want)
	}
	if _, err := json.Marshal(verdictDoc{report: []int{1}}); err == nil {
		t.Error("a report that is not an object was accepted")
	}
}
