package elastic

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/quantx/quantx-db/internal/testenv"
)

// The same contract runs against both engines, as golang-migrate's drivers
// all pass database/testing.Test.
func TestOpenSearch(t *testing.T) {
	t.Parallel()
	testBackend(t, "opensearch")
}

func TestElasticsearch(t *testing.T) {
	t.Parallel()
	testBackend(t, "elasticsearch")
}

// testBackend is the contract. Every subtest has its own name prefix, so the
// subtests of one engine can run side by side on one server.
func testBackend(t *testing.T, engine string) {
	t.Run("DetectEngine", func(t *testing.T) {
		t.Parallel()
		srv := testenv.Search(t, engine)
		p := newTestProvisioner(t, srv, nil, nil)
		if string(p.Engine()) != engine {
			t.Fatalf("auto detected %q, want %q", p.Engine(), engine)
		}
	})
	t.Run("SetupIdempotentStatusDrift", func(t *testing.T) { t.Parallel(); testSetupAndDrift(t, engine) })
	t.Run("PrefixSearch", func(t *testing.T) { t.Parallel(); testPrefixSearch(t, engine) })
	t.Run("ReindexUnderWrites", func(t *testing.T) { t.Parallel(); testReindexUnderWrites(t, engine) })
	t.Run("ReindexKeepsDeletesAndUpdates", func(t *testing.T) { t.Parallel(); testReindexRepro(t, engine) })
	t.Run("ReindexInterruptedResumes", func(t *testing.T) { t.Parallel(); testReindexInterrupted(t, engine) })
	t.Run("ReindexJoinsSplitAliasesUnderWrites", func(t *testing.T) { t.Parallel(); testReindexSplitUnderWrites(t, engine) })
	t.Run("ReindexWriteBlockBound", func(t *testing.T) { t.Parallel(); testReindexBlockBound(t, engine) })
	t.Run("SetupLiftsWriteBlock", func(t *testing.T) { t.Parallel(); testSetupLiftsWriteBlock(t, engine) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testRetention(t, engine) })
	t.Run("RejectedTemplateShowsReason", func(t *testing.T) { t.Parallel(); testRejected(t, engine) })
	t.Run("EditedDefinitionIsChanged", func(t *testing.T) { t.Parallel(); testEditedDefinition(t, engine) })
	t.Run("TimeBasedCutover", func(t *testing.T) { t.Parallel(); testCutover(t, engine) })
}

func newTestProvisioner(t *testing.T, srv *testenv.SearchServer, defs fs.FS, now func() time.Time) *Provisioner {
	t.Helper()
	p, err := New(t.Context(), Options{URL: srv.URL, Prefix: srv.Prefix, Defs: defs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// editedDefs returns the embedded definitions with some files replaced.
func editedDefs(t testing.TB, edits map[string]func(map[string]any)) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(DefaultDefs(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(DefaultDefs(), path)
		if err != nil {
			return err
		}
		if edit, ok := edits[path]; ok {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			edit(m)
			if raw, err = json.Marshal(m); err != nil {
				return err
			}
		}
		out[path] = &fstest.MapFile{Data: raw}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustSetup(t *testing.T, p *Provisioner) Plan {
	t.Helper()
	pl, err := p.Setup(t.Context())
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return pl
}

func mustStatus(t *testing.T, p *Provisioner) Status {
	t.Helper()
	st, err := p.Status(t.Context())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

func item(t *testing.T, st Status, kind, name string) ItemStatus {
	t.Helper()
	for _, it := range st.Items {
		if it.Kind == kind && it.Name == name {
			return it
		}
	}
	t.Fatalf("no %s %s in status", kind, name)
	return ItemStatus{}
}

func testSetupAndDrift(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	ctx := t.Context()

	pl, err := p.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creates := map[string]int{}
	for _, a := range pl.Actions {
		creates[a.Kind+"/"+a.Op]++
	}
	if creates["component_template/create"] != 2 || creates["index_template/create"] != 3 || creates["index/create"] != 4 || creates["history/record"] != 5 {
		t.Fatalf("plan from empty: %v", creates)
	}
	mustSetup(t, p)

	// Read the result back from the server, not from the plan.
	x, _ := p.defs.Index("instruments")
	read, _, err := p.aliasTargets(ctx, x.ReadAlias())
	if err != nil || len(read) != 1 || read[0] != srv.Prefix+"quantx-instruments-v3" {
		t.Fatalf("read alias → %v, %v", read, err)
	}
	if _, w, _ := p.aliasTargets(ctx, x.WriteAlias()); w != srv.Prefix+"quantx-instruments-v3" {
		t.Fatalf("write alias → %q", w)
	}
	hist, ok, err := p.history(ctx)
	if err != nil || !ok || len(hist) != 5 || hist["index:instruments"].Version != 3 || hist["index:instruments"].Checksum != x.Checksum {
		t.Fatalf("history %v %v %+v", ok, err, hist)
	}

	// Idempotent: a second run (and a fresh Provisioner) has nothing to do.
	again := newTestProvisioner(t, srv, nil, nil)
	if pl := mustSetup(t, again); len(pl.Actions) != 0 {
		t.Fatalf("second setup planned %+v", pl.Actions)
	}
	if st := mustStatus(t, again); st.Drift {
		t.Fatalf("status after setup: drift %+v", st)
	}

	// A manual mapping change cannot be undone in place: reindex required.
	if err := p.b.putMapping(ctx, x.ReadAlias(), []byte(`{"properties":{"manual_field":{"type":"keyword"}}}`)); err != nil {
		t.Fatal(err)
	}
	// A manual dynamic settings change can be reverted by setup.
	docs, _ := p.defs.Index("documents")
	if err := p.b.putSettings(ctx, docs.ReadAlias(), []byte(`{"index":{"refresh_interval":"30s"}}`)); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, p)
	if !st.Drift {
		t.Fatal("no drift after manual changes")
	}
	if it := item(t, st, "index", "instruments"); it.State != StateReindex || !strings.Contains(it.Detail, "manual_field") {
		t.Fatalf("instruments after manual mapping: %+v", it)
	}
	if it := item(t, st, "index", "documents"); it.State != StateDrift || !strings.Contains(it.Detail, "refresh_interval") {
		t.Fatalf("documents after manual settings: %+v", it)
	}
	mustSetup(t, p)
	st = mustStatus(t, p)
	if it := item(t, st, "index", "documents"); it.State != StateOK {
		t.Fatalf("documents after setup: %+v", it)
	}
	if it := item(t, st, "index", "instruments"); it.State != StateReindex {
		t.Fatalf("setup must not touch a change that needs a reindex: %+v", it)
	}
}

func testPrefixSearch(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	ctx := t.Context()
	x, _ := p.defs.Index("instruments")
	now := time.Now().UTC().Format(time.RFC3339)
	for id, doc := range map[string]string{
		"1": `{"symbol":"AAPL","name":"Apple Inc.","sector":"Technology","updated_at":"` + now + `"}`,
		"2": `{"symbol":"AMZN","name":"Amazon.com Inc.","sector":"Consumer Cyclical","updated_at":"` + now + `"}`,
		"3": `{"symbol":"MSFT","name":"Microsoft Corporation","sector":"Technology","updated_at":"` + now + `"}`,
	} {
		if err := p.b.putDocument(ctx, x.WriteAlias(), id, []byte(doc), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.b.refresh(ctx, x.ReadAlias()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{`{"query":{"match_bool_prefix":{"symbol":"aa"}}}`, []string{"1"}},
		{`{"query":{"prefix":{"symbol":"a"}}}`, []string{"1", "2"}},
		{`{"query":{"match_bool_prefix":{"name":"micro"}}}`, []string{"3"}},
		{`{"query":{"match_phrase_prefix":{"name":"amazon.c"}}}`, []string{"2"}},
		{`{"query":{"term":{"sector":"technology"}}}`, []string{"1", "3"}},
		{`{"query":{"term":{"symbol.raw":"msft"}}}`, []string{"3"}},
	} {
		raw, err := p.b.search(ctx, x.ReadAlias(), []byte(c.query), 0)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var res searchResult
		_ = json.Unmarshal(raw, &res)
		var got []string
		for _, h := range res.Hits.Hits {
			got = append(got, h.ID)
		}
		if fmt.Sprint(sorted(got)) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
	}
}

func sorted(xs []string) []string {
	out := append([]string{}, xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func testRetention(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	p := newTestProvisioner(t, srv, nil, now)
	mustSetup(t, p)
	ctx := t.Context()
	lc, err := p.b.lifecycle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, p)
	if len(st.Retention) != 1 || st.Retention[0].Index != "activity" || !st.Retention[0].Attached {
		t.Fatalf("retention status %+v", st.Retention)
	}
	if lc != "" {
		// ILM/ISM: the engine owns rollover and deletion.
		if st.Retention[0].Mode != lc || st.Retention[0].Policy == "" {
			t.Fatalf("retention %+v with %s", st.Retention[0], lc)
		}
		if _, err := p.b.getPolicy(ctx, st.Retention[0].Policy); err != nil {
			t.Fatalf("policy not on the server: %v", err)
		}
		return
	}
	t.Logf("%s has neither ILM nor ISM: testing the tool's own rollover and delete", engine)
	if st.Retention[0].Mode != "client" || st.Drift {
		t.Fatalf("retention %+v drift %v", st.Retention[0], st.Drift)
	}
	x, _ := p.defs.Index("activity")
	first := x.Physical(1)

	offset.Store(int64(49 * time.Hour)) // past rollover_max_age (1d)
	pl := mustSetup(t, p)
	if !hasAction(pl, "rollover", opRollover) {
		t.Fatalf("no rollover planned: %+v", pl.Actions)
	}
	_, w, _ := p.aliasTargets(ctx, x.WriteAlias())
	if w != strings.TrimSuffix(first, "1")+"2" {
		t.Fatalf("write index after rollover %q", w)
	}
	read, _, _ := p.aliasTargets(ctx, x.ReadAlias())
	if len(read) != 2 {
		t.Fatalf("read alias after rollover → %v, want both generations", read)
	}

	offset.Store(int64(24*time.Hour + 91*24*time.Hour)) // generation 1 rolled over more than 90d ago
	pl = mustSetup(t, p)
	if !hasAction(pl, "delete_index", opDelete) {
		t.Fatalf("no deletion planned: %+v", pl.Actions)
	}
	if ix, _ := p.getIndices(ctx, first); len(ix) != 0 {
		t.Fatalf("%s not deleted", first)
	}
	if ix, _ := p.getIndices(ctx, w); len(ix) != 1 {
		t.Fatalf("write index %s deleted", w)
	}
}

func hasAction(pl Plan, kind, op string) bool {
	for _, a := range pl.Actions {
		if a.Kind == kind && a.Op == op {
			return true
		}
	}
	return false
}

func testRejected(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	bad := editedDefs(t, map[string]func(map[string]any){"indices/documents.json": func(m map[string]any) {
		props := m["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
		props["body"] = map[string]any{"type": "no_such_type"}
	}})
	p := newTestProvisioner(t, srv, bad, nil)
	_, err := p.Setup(t.Context())
	var se *ServerError
	if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Reason+se.Cause, "no_such_type") {
		t.Fatalf("want the server's reason naming no_such_type, got %v", err)
	}
	t.Logf("%s: %v", engine, err)
}

func testEditedDefinition(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	mustSetup(t, newTestProvisioner(t, srv, nil, nil))
	edited := editedDefs(t, map[string]func(map[string]any){"components/common.json": func(m map[string]any) {
		props := m["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
		props["source_system"] = map[string]any{"type": "keyword"} // additive: applies in place
	}})
	p := newTestProvisioner(t, srv, edited, nil)
	st := mustStatus(t, p)
	if it := item(t, st, "component_template", "common"); it.State != StateChanged {
		t.Fatalf("edited component: %+v", it)
	}
	if it := item(t, st, "index", "documents"); it.State != StateDrift {
		t.Fatalf("documents with an additive change: %+v", it)
	}
	mustSetup(t, p)
	if st := mustStatus(t, p); st.Drift {
		t.Fatalf("drift after applying the edit: %+v", st)
	}
}

// go-elasticsearch's product check stays on: forcing the Elasticsearch
// backend onto an OpenSearch server fails instead of provisioning it.
func TestProductCheckRefusesOpenSearch(t *testing.T) {
	t.Parallel()
	srv := testenv.Search(t, "opensearch")
	p, err := New(t.Context(), Options{URL: srv.URL, Engine: EngineElasticsearch, Prefix: srv.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Status(t.Context())
	if err == nil || !strings.Contains(err.Error(), "not Elasticsearch") {
		t.Fatalf("want the product check error, got %v", err)
	}
}

// A time-based index moves to a new version without a copy: the write alias
// moves, the old generation stays readable until retention deletes it.
func testCutover(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	ctx := t.Context()
	x, _ := p.defs.Index("activity")
	if err := p.b.putDocument(ctx, x.WriteAlias(), "old", []byte(`{"action":"login","updated_at":"2026-01-01T00:00:00Z"}`), true); err != nil {
		t.Fatal(err)
	}
	v2 := editedDefs(t, map[string]func(map[string]any){"indices/activity.json": func(m map[string]any) {
		m["version"] = 2
		props := m["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
		props["user_agent"] = map[string]any{"type": "keyword"} // text → keyword: not in place
	}})
	p2 := newTestProvisioner(t, srv, v2, nil)
	if it := item(t, mustStatus(t, p2), "index", "activity"); it.State != StateReindex {
		t.Fatalf("before cutover: %+v", it)
	}
	rep, err := p2.Reindex(ctx, "activity", ReindexOptions{})
	if err != nil || rep.Method != "cutover" || rep.To != x.Physical(2) {
		t.Fatalf("cutover: %+v %v", rep, err)
	}
	if err := p.b.putDocument(ctx, x.WriteAlias(), "new", []byte(`{"action":"logout","user_agent":"curl","updated_at":"2026-01-02T00:00:00Z"}`), true); err != nil {
		t.Fatal(err)
	}
	read, _, _ := p.aliasTargets(ctx, x.ReadAlias())
	if fmt.Sprint(read) != fmt.Sprint([]string{x.Physical(1), x.Physical(2)}) {
		t.Fatalf("read alias → %v", read)
	}
	if n, _ := p.count(ctx, x.ReadAlias()); n != 2 {
		t.Fatalf("%d documents behind the read alias, want 2", n)
	}
	if st := mustStatus(t, p2); st.Drift {
		t.Fatalf("status after cutover: %+v", st)
	}
}
