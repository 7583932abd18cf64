package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
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
	t.Run("CatchUpNeverOverwritesNewer", func(t *testing.T) { t.Parallel(); testCatchUp(t, engine) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testRetention(t, engine) })
	t.Run("RejectedTemplateShowsReason", func(t *testing.T) { t.Parallel(); testRejected(t, engine) })
	t.Run("EditedDefinitionIsChanged", func(t *testing.T) { t.Parallel(); testEditedDefinition(t, engine) })
	t.Run("TimeBasedCutover", func(t *testing.T) { t.Parallel(); testCutover(t, engine) })
	t.Run("ReindexResumes", func(t *testing.T) { t.Parallel(); testReindexResumes(t, engine) })
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
func editedDefs(t *testing.T, edits map[string]func(map[string]any)) fs.FS {
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

func testReindexUnderWrites(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	ctx := t.Context()
	x, _ := p.defs.Index("instruments")

	const initial = 400
	var buf bytes.Buffer
	for i := range initial {
		bulkLine(&buf, "index", map[string]any{"_index": x.WriteAlias(), "_id": fmt.Sprintf("i%d", i)},
			json.RawMessage(fmt.Sprintf(`{"symbol":"S%d","sector":"Tech","market_cap":0,"updated_at":%q}`, i, time.Now().UTC().Format(time.RFC3339Nano))))
	}
	if _, _, err := p.runBulk(ctx, buf.Bytes()); err != nil {
		t.Fatal(err)
	}

	// v4 changes a field type: the engine cannot apply that in place.
	v4 := editedDefs(t, map[string]func(map[string]any){"indices/instruments.json": func(m map[string]any) {
		m["version"] = 4
		props := m["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
		props["sector"] = map[string]any{"type": "text", "analyzer": "quantx_text", "fields": map[string]any{"raw": map[string]any{"type": "keyword"}}}
	}})
	var progressCalls atomic.Int64
	p4, err := New(ctx, Options{URL: srv.URL, Prefix: srv.Prefix, Defs: v4, Progress: func(done, total int64) { progressCalls.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if it := item(t, mustStatus(t, p4), "index", "instruments"); it.State != StateReindex {
		t.Fatalf("status with v4 definition: %+v", it)
	}

	// The writer keeps indexing through the write alias: new documents and
	// updates of existing ones (market_cap = revision), until told to stop.
	var (
		mu      sync.Mutex
		lastRev = map[string]int{}
		stop    = make(chan struct{})
		done    = make(chan error, 1)
		writes  atomic.Int64
	)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			id := fmt.Sprintf("w%d", n)
			if n%2 == 0 {
				id = fmt.Sprintf("i%d", n%initial) // an update of an original document
			}
			doc := fmt.Sprintf(`{"symbol":"W%d","sector":"Tech","market_cap":%d,"updated_at":%q}`, n, n, time.Now().UTC().Format(time.RFC3339Nano))
			if err := p.b.putDocument(context.WithoutCancel(ctx), x.WriteAlias(), id, []byte(doc), false); err != nil {
				done <- fmt.Errorf("write %s: %w", id, err)
				return
			}
			mu.Lock()
			lastRev[id] = n
			mu.Unlock()
			writes.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond) // writes before the switch too
	rep, err := p4.Reindex(ctx, "instruments", ReindexOptions{BatchSize: 50})
	time.Sleep(300 * time.Millisecond) // and after
	close(stop)
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatalf("reindex: %v (report %+v)", err, rep)
	}
	t.Logf("%s reindex: %+v, %d concurrent writes", engine, rep, writes.Load())
	if writes.Load() < 10 {
		t.Fatalf("only %d concurrent writes: the test proves nothing", writes.Load())
	}
	wantMethod := map[string]string{"opensearch": "server_reindex", "elasticsearch": "client_scroll"}[engine]
	if rep.Method != wantMethod {
		t.Errorf("method %s, want %s", rep.Method, wantMethod)
	}
	if rep.To != srv.Prefix+"quantx-instruments-v4" || !rep.OldDeleted || rep.TargetCount < rep.SourceCount {
		t.Errorf("report %+v", rep)
	}
	if wantMethod == "client_scroll" && progressCalls.Load() == 0 {
		t.Error("no progress reported")
	}

	// Read back through the read alias: every document, each at its last revision.
	read, _, _ := p.aliasTargets(ctx, x.ReadAlias())
	if len(read) != 1 || read[0] != rep.To {
		t.Fatalf("read alias → %v, want %s", read, rep.To)
	}
	if _, w, _ := p.aliasTargets(ctx, x.WriteAlias()); w != rep.To {
		t.Fatalf("write alias → %s", w)
	}
	if ix, _ := p.getIndices(ctx, rep.From); len(ix) != 0 {
		t.Errorf("old index %s still exists", rep.From)
	}
	if err := p.b.refresh(ctx, x.ReadAlias()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for i := range initial {
		want[fmt.Sprintf("i%d", i)] = 0
	}
	for id, rev := range lastRev {
		want[id] = rev
	}
	got := map[string]int{}
	if err := p.scrollAll(ctx, x.ReadAlias(), map[string]any{"match_all": map[string]any{}}, 500, func(hits []hit) error {
		for _, h := range hits {
			var d struct {
				MarketCap int `json:"market_cap"`
			}
			_ = json.Unmarshal(h.Source, &d)
			got[h.ID] = d.MarketCap
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d documents behind the read alias, want %d", len(got), len(want))
	}
	lost, stale := 0, 0
	for id, rev := range want {
		g, ok := got[id]
		switch {
		case !ok:
			lost++
		case g != rev:
			stale++
		}
	}
	if lost+stale > 0 {
		t.Errorf("%d documents lost, %d at an older revision", lost, stale)
	}
	if n, _ := p.count(ctx, x.ReadAlias()); n != int64(len(want)) {
		t.Errorf("count %d, want %d", n, len(want))
	}
	st := mustStatus(t, p4)
	if it := item(t, st, "index", "instruments"); it.State != StateOK || it.LiveVersion != 4 || it.AppliedVersion != 4 {
		t.Errorf("status after reindex: %+v", it)
	}
}

// testCatchUp drives the catch-up step directly: it must copy what is
// missing, copy what is newer, and never overwrite a newer write.
func testCatchUp(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	ctx := t.Context()
	src, dst := srv.Prefix+"src", srv.Prefix+"dst"
	for _, ix := range []string{src, dst} {
		if err := p.b.createIndex(ctx, ix, []byte(`{"mappings":{"properties":{"updated_at":{"type":"date"},"v":{"type":"keyword"}}}}`)); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) string { return t0.Add(time.Duration(m) * time.Minute).Format(time.RFC3339) }
	put := func(ix, id, v string, m int) {
		if err := p.b.putDocument(ctx, ix, id, []byte(fmt.Sprintf(`{"v":%q,"updated_at":%q}`, v, at(m))), true); err != nil {
			t.Fatal(err)
		}
	}
	put(src, "missing", "src", 10) // not in dst: created
	put(src, "older", "src", 10)   // dst has an older copy: replaced
	put(dst, "older", "dst", 5)
	put(src, "newer", "src", 10) // dst was written later through the alias: kept
	put(dst, "newer", "dst", 20)
	put(src, "before", "src", -60) // changed before the window: not looked at
	n, err := p.catchUp(ctx, src, dst, t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("caught up %d, want 2", n)
	}
	_ = p.b.refresh(ctx, dst)
	raw, err := p.b.mget(ctx, dst, []byte(`{"ids":["missing","older","newer","before"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Docs []hit `json:"docs"`
	}
	_ = json.Unmarshal(raw, &res)
	got := map[string]string{}
	for _, d := range res.Docs {
		if d.Found != nil && *d.Found {
			var s struct{ V string }
			_ = json.Unmarshal(d.Source, &s)
			got[d.ID] = s.V
		}
	}
	want := map[string]string{"missing": "src", "older": "src", "newer": "dst"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("dst after catch-up %v, want %v", got, want)
	}
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

// A reindex interrupted after the write alias moved resumes where it stopped.
func testReindexResumes(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	ctx := t.Context()
	x, _ := p.defs.Index("instruments")
	for i := range 20 {
		doc := fmt.Sprintf(`{"symbol":"S%d","updated_at":"2026-01-01T00:00:00Z"}`, i)
		if err := p.b.putDocument(ctx, x.WriteAlias(), fmt.Sprint(i), []byte(doc), false); err != nil {
			t.Fatal(err)
		}
	}
	// Steps 1 and 2 of a reindex, then a "crash".
	settings, mappings := p.desiredIndex(x, p.feat)
	body, _ := json.Marshal(map[string]any{"settings": settings, "mappings": mappings})
	if err := p.b.createIndex(ctx, x.Physical(4), body); err != nil {
		t.Fatal(err)
	}
	if err := p.b.updateAliases(ctx, aliasBody([]aliasOp{{index: x.Physical(3), alias: x.WriteAlias()}, {add: true, index: x.Physical(4), alias: x.WriteAlias(), write: true}})); err != nil {
		t.Fatal(err)
	}
	if err := p.b.putDocument(ctx, x.WriteAlias(), "after", []byte(`{"symbol":"NEW","updated_at":"2026-01-02T00:00:00Z"}`), false); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Reindex(ctx, "instruments", ReindexOptions{KeepOld: true})
	if err != nil || rep.From != x.Physical(3) || rep.To != x.Physical(4) || rep.TargetCount != 21 || rep.OldDeleted {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	if ix, _ := p.getIndices(ctx, x.Physical(3)); len(ix) != 1 {
		t.Error("--keep-old: the old index is gone")
	}
}
