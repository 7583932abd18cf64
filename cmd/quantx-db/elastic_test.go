package main

import (
	"encoding/json"
	"io"
	"net/http"
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

// TestElasticReindexInterruptedCLI: readers on v3, writers on v4 (what an
// interrupted reindex of an older quantx-db left), with a delete, an update
// then delete, and an update made through the write alias meanwhile (the
// reproduction of issue 11, 1b). Both status commands must report it (exit
// 3), and reindex must finish it without bringing anything back.
func TestElasticReindexInterruptedCLI(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"opensearch", "elasticsearch"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			srv := testenv.Search(t, engine)
			env := map[string]string{"QUANTX_ELASTIC_URL": srv.URL}
			cli := func(want int, args ...string) cliResult {
				t.Helper()
				r := runCLI(t, env, args...)
				if r.code != want {
					t.Fatalf("%v: exit %d, want %d\nstdout %s\nstderr %s", args, r.code, want, r.stdout, r.stderr)
				}
				return r
			}
			base := srv.Prefix + "quantx-instruments"
			send := func(method, path, body string) {
				t.Helper()
				req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode >= 300 && !(method == http.MethodDelete && res.StatusCode == 404) {
					t.Fatalf("%s %s: HTTP %d %s", method, path, res.StatusCode, b)
				}
			}
			cli(exitOK, "elastic", "setup", "--index-prefix", srv.Prefix)
			for _, id := range []string{"A", "B", "C", "D"} {
				send(http.MethodPut, "/"+base+"-write/_doc/"+id+"?refresh=true", `{"symbol":"`+id+`","industry":"rev0"}`)
			}
			// The template gives the new index its mappings; then the write alias moves, as the old reindex did first.
			send(http.MethodPut, "/"+base+"-v4", `{}`)
			send(http.MethodPost, "/_aliases", `{"actions":[{"remove":{"index":"`+base+`-v3","alias":"`+base+`-write"}},{"add":{"index":"`+base+`-v4","alias":"`+base+`-write","is_write_index":true}}]}`)
			send(http.MethodDelete, "/"+base+"-write/_doc/A", "")
			send(http.MethodPut, "/"+base+"-write/_doc/B", `{"symbol":"B","industry":"rev1"}`)
			send(http.MethodDelete, "/"+base+"-write/_doc/B", "")
			send(http.MethodPut, "/"+base+"-write/_doc/D", `{"symbol":"D","industry":"rev1"}`)

			r := cli(exitCheck, "elastic", "status", "--index-prefix", srv.Prefix, "-o", "json")
			if !strings.Contains(r.stdout, `"reindex_interrupted"`) || !strings.Contains(r.stderr, "quantx-db elastic reindex instruments") {
				t.Fatalf("elastic status:\n%s\n%s", r.stdout, r.stderr)
			}
			r = cli(exitCheck, "status", "--exit-code", "--elastic-index-prefix", srv.Prefix, "-o", "json")
			rep := decodeJSON[statusDoc](t, r.stdout)
			if it := rep.items()["elastic/drift"]; it.State != "action" || !strings.Contains(it.Detail, "interrupted") || !strings.Contains(it.Fix, "quantx-db elastic reindex instruments") {
				t.Fatalf("status: %+v", rep.Items)
			}

			r = cli(exitOK, "elastic", "reindex", "instruments", "--yes", "--index-prefix", srv.Prefix, "-o", "json")
			var rr struct {
				Resumed string `json:"resumed"`
				To      string `json:"to"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rr); err != nil || rr.Resumed != "split_aliases" || rr.To != base+"-v4" {
				t.Fatalf("reindex: %v %s", err, r.stdout)
			}
			send(http.MethodPost, "/"+base+"/_refresh", "")
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/"+base+"/_search?size=100", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var found2 struct {
				Hits struct {
					Hits []struct {
						ID     string         `json:"_id"`
						Source map[string]any `json:"_source"`
					} `json:"hits"`
				} `json:"hits"`
			}
			_ = json.NewDecoder(res.Body).Decode(&found2)
			res.Body.Close()
			got := map[string]any{}
			for _, h := range found2.Hits.Hits {
				got[h.ID] = h.Source["industry"]
			}
			if len(got) != 2 || got["C"] != "rev0" || got["D"] != "rev1" {
				t.Fatalf("read alias after reindex: %v, want C rev0 and D rev1 only", got)
			}
			cli(exitOK, "elastic", "status", "--index-prefix", srv.Prefix)
			cli(exitOK, "status", "--exit-code", "--elastic-index-prefix", srv.Prefix)
		})
	}
}
