package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/internal/testenv"
)

func TestElasticCLI(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"opensearch", "elasticsearch"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			srv := testenv.Search(t, engine)
			env := map[string]string{"QUANTX_ELASTIC_URL": srv.URL}
			cli := func(want int, args ...string) cliResult {
				t.Helper()
				r := runCLI(t, env, append(append([]string{"elastic"}, args...), "--index-prefix", srv.Prefix)...)
				if r.code != want {
					t.Fatalf("%v: exit %d, want %d\nstdout %s\nstderr %s", args, r.code, want, r.stdout, r.stderr)
				}
				return r
			}

			cli(exitCheck, "status")
			var plan struct {
				Engine  string `json:"engine"`
				DryRun  bool   `json:"dry_run"`
				Actions []struct{ Kind, Name, Op string }
			}
			r := cli(exitOK, "setup", "--dry-run", "-o", "json")
			if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || plan.Engine != engine || !plan.DryRun || len(plan.Actions) != 14 {
				t.Fatalf("dry run: %v %+v", err, plan)
			}
			cli(exitCheck, "status") // the dry run changed nothing
			cli(exitOK, "setup")
			r = cli(exitOK, "setup")
			if !strings.Contains(r.stdout, "nothing to do") {
				t.Fatalf("second setup: %s", r.stdout)
			}
			r = cli(exitOK, "status", "-o", "json")
			var st struct {
				Drift bool `json:"drift"`
				Items []struct {
					Name, State   string
					PhysicalIndex string `json:"physical_index"`
				} `json:"items"`
				Retention []struct{ Mode string } `json:"retention"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Drift || len(st.Items) != 8 || len(st.Retention) != 1 {
				t.Fatalf("status: %v %+v", err, st)
			}

			// Deleting the old index needs --yes off a terminal; nothing is touched.
			r = cli(exitUsage, "reindex", "instruments")
			if !strings.Contains(r.stderr, "--yes") {
				t.Fatalf("refusal: %s", r.stderr)
			}
			r = cli(exitOK, "reindex", "instruments", "--keep-old", "-o", "json")
			var rep struct {
				From, To   string
				OldDeleted bool `json:"old_deleted"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.To != srv.Prefix+"quantx-instruments-v4" || rep.OldDeleted {
				t.Fatalf("reindex: %v %+v", err, rep)
			}
			cli(exitOK, "status")
			r = cli(exitUsage, "reindex", "nosuch", "--yes")
			if !strings.Contains(r.stderr, "instruments") {
				t.Fatalf("unknown index: %s", r.stderr)
			}
		})
	}
}

func TestElasticCLIErrors(t *testing.T) {
	t.Parallel()
	r := runCLI(t, map[string]string{"QUANTX_ELASTIC_URL": "http://127.0.0.1:1"}, "elastic", "status")
	if r.code != exitFailure || !strings.Contains(r.stderr, "reachable") {
		t.Fatalf("unreachable: exit %d %s", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{"QUANTX_ELASTIC_URL": "http://127.0.0.1:1"}, "elastic", "status", "--index-prefix", "Bad Prefix")
	if r.code != exitUsage || !strings.Contains(r.stderr, "invalid index name") {
		t.Fatalf("bad prefix: exit %d %s", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{}, "elastic", "setup")
	if r.code != exitUsage || !strings.Contains(r.stderr, "elastic-url") {
		t.Fatalf("no url: exit %d %s", r.code, r.stderr)
	}
}
