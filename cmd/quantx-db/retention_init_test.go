package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/retention"
)

// TestRetentionInit: the written file is commented, loads back to exactly the
// built-in policy, and is never overwritten without --force.
func TestRetentionInit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "retention.yaml")
	r := runCLI(t, nil, "retention", "init", path)
	if r.code != exitOK || !strings.Contains(r.stdout, "wrote the built-in retention policy to "+path) {
		t.Fatalf("init: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := retention.ParsePolicy(b, path)
	if err != nil {
		t.Fatal(err)
	}
	want := retention.DefaultPolicy()
	got.Source, want.Source = "", ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the written policy differs from the built-in one:\n%+v\n%+v", got, want)
	}
	// Every key of the policy has a comment just above it; the entries of the informational influx
	// map are explained by the comment above "influx:".
	lines := strings.Split(string(b), "\n")
	section := ""
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, _, _ := strings.Cut(trimmed, ":")
		if !strings.HasPrefix(l, " ") {
			section = key
		} else if section == "influx" {
			continue
		}
		if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			t.Errorf("line %d: key %q has no comment above it", i+1, key)
		}
	}

	before := string(b)
	if err := os.WriteFile(path, []byte("# edited\n"+before), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "retention", "init", path); r.code != exitUsage || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("init over an existing file: exit %d %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "# edited\n") {
		t.Fatal("an existing file was overwritten without --force")
	}
	if r := runCLI(t, nil, "retention", "init", path, "--force", "-o", "json"); r.code != exitOK {
		t.Fatalf("init --force: exit %d %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != before {
		t.Fatal("--force did not write the built-in policy")
	}

	// To stdout: the same bytes; with -o json, one document holding them.
	if r := runCLI(t, nil, "retention", "init"); r.code != exitOK || r.stdout != before {
		t.Fatalf("init to stdout: exit %d, %d bytes", r.code, len(r.stdout))
	}
	var doc struct{ Policy string }
	if r := runCLI(t, nil, "retention", "init", "-o", "json"); r.code != exitOK || json.Unmarshal([]byte(r.stdout), &doc) != nil || doc.Policy != before {
		t.Fatalf("init -o json: exit %d %q", r.code, r.stdout)
	}
}

// TestYAMLErrorsNameKeyAndLine: a value of the wrong type, in the policy file
// and in the config file, is reported with its key and its line.
func TestYAMLErrorsNameKeyAndLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		args       []string
		want       string
	}{
		{"policy-int.yaml", "postgres:\n  orders:\n    keep: 1y\n    batch_size: lots\n", []string{"retention", "show", "--policy"},
			`line 4: postgres.orders.batch_size: "lots" is not a whole number`},
		{"policy-bool.yaml", "postgres:\n  activity_logs:\n    keep: 2y\n    archive: maybe\n", []string{"retention", "show", "--policy"},
			`line 4: postgres.activity_logs.archive: "maybe" is not true or false`},
		{"policy-duration.yaml", "postgres:\n  orders:\n    keep: 12 monts\n", []string{"retention", "show", "--policy"},
			`line 3: postgres.orders.keep: duration "12 monts": unknown unit`},
		{"policy-negative.yaml", "postgres:\n  orders:\n    keep: 1y\n    batch_size: -3\n", []string{"retention", "show", "--policy"},
			`line 4: postgres.orders.batch_size: -3 must be positive`},
		{"policy-status.yaml", "postgres:\n  orders:\n    keep: 1y\n    statuses:\n      - FILLED\n", []string{"retention", "apply", "--dry-run", "--policy"},
			""}, // valid: no error
		{"config-bool.yaml", "database_url: postgres://u@127.0.0.1:1/db\ns3_tls: maybe\n", []string{"status", "--config"},
			`line 2: s3_tls: "maybe" is not true or false`},
		{"config-list.yaml", "lint:\n  disable: none\n", []string{"status", "--config"},
			`line 2: lint.disable: "none" is not a list`},
		{"config-map.yaml", "s3_bucket:\n  name: b\n", []string{"status", "--config"},
			`s3_bucket: a mapping (key: value lines) is not a string`},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if tc.want == "" {
			continue
		}
		r := runCLI(t, nil, append(tc.args, path)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q, want exit 2 and %q", tc.name, r.code, r.stderr, tc.want)
		}
	}
}
