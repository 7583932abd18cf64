package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/progress"
	"github.com/quantx/quantx-db/internal/testenv"
)

// v4Defs changes a field type of instruments: the engine cannot apply that
// in place, so the index needs a reindex to v4.
func v4Defs(t testing.TB) Options {
	t.Helper()
	return Options{Defs: editedDefs(t, map[string]func(map[string]any){"indices/instruments.json": func(m map[string]any) {
		m["version"] = 4
		props := m["template"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
		props["sector"] = map[string]any{"type": "text", "analyzer": "quantx_text", "fields": map[string]any{"raw": map[string]any{"type": "keyword"}}}
	}})}
}

func newProvisionerWith(t *testing.T, srv *testenv.SearchServer, o Options) *Provisioner {
	t.Helper()
	o.URL, o.Prefix = srv.URL, srv.Prefix
	p, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// loadStatic indexes n documents (ids s0..) that no writer touches and
// returns them: they must come through a reindex unchanged.
func loadStatic(t testing.TB, p *Provisioner, alias string, n int) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	var buf bytes.Buffer
	for i := range n {
		id := fmt.Sprintf("s%d", i)
		doc := json.RawMessage(fmt.Sprintf(`{"symbol":"S%d","name":"Static %d","sector":"Tech","market_cap":%d}`, i, i, i))
		bulkLine(&buf, "index", map[string]any{"_index": alias, "_id": id}, doc)
		out[id] = doc
		if buf.Len() > 1<<20 || i == n-1 {
			if _, _, err := p.runBulk(t.Context(), buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			buf.Reset()
		}
	}
	return out
}

// splitAliases does what the reindex of quantx-db before this change did
// first: create the next version and move the write alias to it, readers
// staying on the old index.
func splitAliases(t *testing.T, p *Provisioner, x *Index, from, to int) {
	t.Helper()
	ctx := t.Context()
	f, err := p.features(ctx)
	if err != nil {
		t.Fatal(err)
	}
	settings, mappings := p.desiredIndex(x, f)
	body, _ := json.Marshal(map[string]any{"settings": settings, "mappings": mappings})
	if err := p.b.createIndex(ctx, x.Physical(to), body); err != nil {
		t.Fatal(err)
	}
	if err := p.b.updateAliases(ctx, aliasBody([]aliasOp{{index: x.Physical(from), alias: x.WriteAlias()},
		{add: true, index: x.Physical(to), alias: x.WriteAlias(), write: true}})); err != nil {
		t.Fatal(err)
	}
}

// docOp sends one bulk operation (index, update, delete) and returns its status.
func docOp(t *testing.T, p *Provisioner, alias, op, id, body string) int {
	t.Helper()
	var buf bytes.Buffer
	if op == "delete" {
		fmt.Fprintf(&buf, "{\"delete\":{\"_index\":%q,\"_id\":%q}}\n", alias, id)
	} else {
		bulkLine(&buf, op, map[string]any{"_index": alias, "_id": id}, json.RawMessage(body))
	}
	raw, err := p.b.bulk(t.Context(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Items []map[string]struct{ Status int } `json:"items"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || len(res.Items) != 1 {
		t.Fatalf("%s %s: %s", op, id, raw)
	}
	return res.Items[0][op].Status
}

func aliasesOn(t *testing.T, p *Provisioner, x *Index) (read []string, write string) {
	t.Helper()
	read, _, err := p.aliasTargets(t.Context(), x.ReadAlias())
	if err != nil {
		t.Fatal(err)
	}
	if _, write, err = p.aliasTargets(t.Context(), x.WriteAlias()); err != nil {
		t.Fatal(err)
	}
	return read, write
}

func indexBlocked(t *testing.T, p *Provisioner, name string) (exists, blocked bool) {
	t.Helper()
	lives, err := p.getIndices(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(lives) == 0 {
		return false, false
	}
	return true, writeBlocked(lives[0])
}

// testReindexUnderWrites reindexes v3 → v4 while an application writes
// through the write alias at a few hundred operations a second (indexing,
// partial updates and deletes of random ids), with writes forced into every
// phase; afterwards every id and source behind the read alias must be the
// writer's final state.
func testReindexUnderWrites(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	ctx := t.Context()
	x, _ := p.defs.Index("instruments")
	static := loadStatic(t, p, x.WriteAlias(), 3000)
	w := newAppWriter(t, p, x.WriteAlias(), 600)
	o := v4Defs(t)
	var copyReports int
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	o.Progress = func(progress.Event) { copyReports++ }
	p4 := newProvisionerWith(t, srv, o)
	if it := item(t, mustStatus(t, p4), "index", "instruments"); it.State != StateReindex {
		t.Fatalf("status with the v4 definition: %+v", it)
	}

	w.run(8, 60) // at most 480 operations a second
	w.waitOps(t, 50)
	before, start := w.ops.Load(), time.Now()
	rep, err := p4.Reindex(ctx, "instruments", ReindexOptions{BatchSize: 200, AfterStep: func(_ context.Context, step string) {
		switch step {
		case StepCopied:
			w.waitOps(t, 150) // changed after the bulk copy: found by _seq_no, deletes reconciled
		case StepCaughtUp:
			w.waitOps(t, 100) // changed after the last unblocked round: the final catch-up must find them
		case StepWriteBlocked:
			w.waitRefused(t, 2*time.Second) // the block refuses writes; the writer retries
		case StepSwitched:
			w.waitOps(t, 50) // now through the new index
		}
	}})
	during := w.ops.Load() - before
	elapsed := time.Since(start)
	w.waitOps(t, 50)
	w.stop(t)
	if err != nil {
		t.Fatalf("reindex: %v (report %+v)", err, rep)
	}
	outside := elapsed - time.Duration(rep.WriteBlockMS)*time.Millisecond
	t.Logf("%s: %d writer operations during the reindex (%s; %.0f/s outside the %d ms write block), %d refused by the block and retried; report %+v",
		engine, during, elapsed.Round(time.Millisecond), float64(during)/outside.Seconds(), rep.WriteBlockMS, w.refused.Load(), rep)
	wantMethod := map[string]string{"opensearch": "server_reindex", "elasticsearch": "client_scroll"}[engine]
	if rep.Method != wantMethod {
		t.Errorf("method %s, want %s", rep.Method, wantMethod)
	}
	if rep.To != x.Physical(4) || rep.From != x.Physical(3) || !rep.OldDeleted || rep.Resumed != "" || rep.WriteBlockAttempts != 1 {
		t.Errorf("report %+v", rep)
	}
	if rep.CaughtUp == 0 || rep.Deleted == 0 || rep.WriteBlockMS <= 0 || rep.SourceCount != rep.TargetCount {
		t.Errorf("the writes during the copy were not all exercised: %+v", rep)
	}
	if wantMethod == "client_scroll" && copyReports == 0 {
		t.Error("no progress reported")
	}
	if read, write := aliasesOn(t, p, x); len(read) != 1 || read[0] != rep.To || write != rep.To {
		t.Fatalf("aliases: read → %v, write → %s; want %s", read, write, rep.To)
	}
	if exists, _ := indexBlocked(t, p, rep.From); exists {
		t.Errorf("old index %s still exists", rep.From)
	}
	w.checkReadAlias(t, x.ReadAlias(), static)
	if it := item(t, mustStatus(t, p4), "index", "instruments"); it.State != StateOK || it.LiveVersion != 4 || it.AppliedVersion != 4 {
		t.Errorf("status after reindex: %+v", it)
	}
}

// testReindexRepro is the reproduction of issue 11 (1b): with the write
// alias already on v4 (as the reindex before this change left it), A is
// deleted, B updated then deleted, D updated, all through the write alias;
// a reindex must bring none of A and B back nor D's older version.
func testReindexRepro(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("instruments")
	for _, id := range []string{"A", "B", "C", "D"} {
		if s := docOp(t, p, x.WriteAlias(), "index", id, `{"symbol":"`+id+`","industry":"rev0"}`); s != 201 {
			t.Fatalf("index %s: HTTP %d", id, s)
		}
	}
	splitAliases(t, p, x, 3, 4)
	docOp(t, p, x.WriteAlias(), "delete", "A", "")
	docOp(t, p, x.WriteAlias(), "index", "B", `{"symbol":"B","industry":"rev1"}`)
	docOp(t, p, x.WriteAlias(), "delete", "B", "")
	docOp(t, p, x.WriteAlias(), "index", "D", `{"symbol":"D","industry":"rev1"}`)

	st := mustStatus(t, p)
	if it := item(t, st, "index", "instruments"); it.State != StateInterrupted || !st.Drift || !strings.Contains(it.Detail, x.Physical(4)) {
		t.Fatalf("status with readers on v3 and writers on v4: %+v (drift %t)", it, st.Drift)
	}
	rep, err := p.Reindex(t.Context(), "instruments", ReindexOptions{})
	if err != nil {
		t.Fatalf("reindex: %v", err)
	}
	if rep.Resumed != ResumedSplit || rep.To != x.Physical(4) || !rep.OldDeleted {
		t.Errorf("report %+v", rep)
	}
	w := &appWriter{p: p, state: map[string]json.RawMessage{
		"C": json.RawMessage(`{"symbol":"C","industry":"rev0"}`),
		"D": json.RawMessage(`{"symbol":"D","industry":"rev1"}`),
	}}
	w.checkReadAlias(t, x.ReadAlias(), nil)
	if st := mustStatus(t, p); st.Drift {
		t.Errorf("status after reindex: %+v", st.Items)
	}
}

// testReindexInterrupted interrupts a reindex twice under a writer (Ctrl-C
// after the bulk copy, Ctrl-C and then a simulated kill -9 under the write
// block), checks that status reports each state, and that the third run
// finishes with the writer's exact state.
func testReindexInterrupted(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("instruments")
	static := loadStatic(t, p, x.WriteAlias(), 1000)
	w := newAppWriter(t, p, x.WriteAlias(), 400)
	p4 := newProvisionerWith(t, srv, v4Defs(t))
	w.run(3, 100)
	w.waitOps(t, 30)

	interruptAt := func(step string) (ReindexReport, error) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		return p4.Reindex(ctx, "instruments", ReindexOptions{AfterStep: func(_ context.Context, s string) {
			if s == step {
				cancel()
			}
		}})
	}
	// 1. Ctrl-C after the bulk copy.
	if _, err := interruptAt(StepCopied); !errors.Is(err, context.Canceled) {
		t.Fatalf("reindex cancelled after the copy: %v", err)
	}
	if read, write := aliasesOn(t, p, x); len(read) != 1 || read[0] != x.Physical(3) || write != x.Physical(3) {
		t.Fatalf("after the first interruption: read → %v, write → %s", read, write)
	}
	st := mustStatus(t, p4)
	if it := item(t, st, "index", "instruments"); it.State != StateInterrupted || !strings.Contains(it.Detail, x.Physical(4)) || !st.Drift {
		t.Fatalf("status after an interrupted copy: %+v", it)
	}
	w.waitOps(t, 50)

	// 2. Ctrl-C under the write block: the block is lifted on the way out.
	rep, err := interruptAt(StepWriteBlocked)
	if !errors.Is(err, context.Canceled) || rep.Resumed != ResumedInterrupted {
		t.Fatalf("reindex cancelled under the write block: %v (report %+v)", err, rep)
	}
	if _, blocked := indexBlocked(t, p, x.Physical(3)); blocked {
		t.Fatal("Ctrl-C under the write block left writers locked out")
	}
	w.waitOps(t, 50)

	// What kill -9 at that point leaves: the block stays and writers are refused.
	if _, err := p.b.addWriteBlock(t.Context(), x.Physical(3)); err != nil {
		t.Fatal(err)
	}
	w.waitRefused(t, 5*time.Second)
	st = mustStatus(t, p4)
	if it := item(t, st, "index", "instruments"); it.State != StateInterrupted || !strings.Contains(it.Detail, "refuses writes") {
		t.Fatalf("status with the write block of a killed reindex: %+v", it)
	}

	// 3. Rerun: lifts the block, reuses v4, finishes; the old index is kept.
	rep, err = p4.Reindex(t.Context(), "instruments", ReindexOptions{KeepOld: true, AfterStep: func(_ context.Context, s string) {
		if s == StepCopied {
			w.waitOps(t, 100)
		}
	}})
	if err != nil {
		t.Fatalf("rerun: %v (report %+v)", err, rep)
	}
	t.Logf("%s: resumed %+v; %d refused writes retried", engine, rep, w.refused.Load())
	if rep.Resumed != ResumedInterrupted || rep.To != x.Physical(4) || rep.OldDeleted {
		t.Errorf("report %+v", rep)
	}
	w.waitOps(t, 50)
	w.stop(t)
	w.checkReadAlias(t, x.ReadAlias(), static)
	if exists, blocked := indexBlocked(t, p, x.Physical(3)); !exists || !blocked {
		t.Errorf("--keep-old: %s exists %t, write-blocked %t; want a kept, read-only index", x.Physical(3), exists, blocked)
	}
	if st := mustStatus(t, p4); st.Drift {
		t.Errorf("status after the rerun: %+v", st.Items)
	}
}

// testReindexSplitUnderWrites: readers on v3, writers already on v4 (an
// interrupted reindex of an older quantx-db) and an application writing
// through the write alias while reindex joins them.
func testReindexSplitUnderWrites(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("instruments")
	static := loadStatic(t, p, x.WriteAlias(), 1000)
	w := newAppWriter(t, p, x.WriteAlias(), 400)
	w.splitMode = true
	splitAliases(t, p, x, 3, 4)
	w.run(2, 100)
	w.waitOps(t, 100)
	rep, err := p.Reindex(t.Context(), "instruments", ReindexOptions{BatchSize: 100, AfterStep: func(_ context.Context, s string) {
		if s == StepCopied {
			w.waitOps(t, 50)
		}
	}})
	w.waitOps(t, 50)
	w.stop(t)
	if err != nil {
		t.Fatalf("reindex: %v", err)
	}
	t.Logf("%s: %+v", engine, rep)
	if rep.Resumed != ResumedSplit || rep.KeptNewer == 0 {
		t.Errorf("report %+v", rep)
	}
	w.checkReadAlias(t, x.ReadAlias(), static)
}

// testReindexBlockBound: a final catch-up that runs over MaxWriteBlock is
// rolled back (block lifted, nothing switched) and retried once, then the
// reindex gives up; a rerun finishes.
func testReindexBlockBound(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("instruments")
	w := newAppWriter(t, p, x.WriteAlias(), 300)
	p4 := newProvisionerWith(t, srv, v4Defs(t))
	w.run(2, 100)
	const bound = 300 * time.Millisecond
	rep, err := p4.Reindex(t.Context(), "instruments", ReindexOptions{MaxWriteBlock: bound, AfterStep: func(_ context.Context, s string) {
		if s == StepWriteBlocked {
			time.Sleep(bound + 100*time.Millisecond) // a final catch-up slower than the bound
		}
	}})
	if !errors.Is(err, ErrWriteBlockTimeout) || rep.WriteBlockAttempts != 2 {
		t.Fatalf("want ErrWriteBlockTimeout after 2 attempts, got %v (report %+v)", err, rep)
	}
	if read, write := aliasesOn(t, p, x); len(read) != 1 || read[0] != x.Physical(3) || write != x.Physical(3) {
		t.Fatalf("after giving up: read → %v, write → %s", read, write)
	}
	if _, blocked := indexBlocked(t, p, x.Physical(3)); blocked {
		t.Fatal("the write block outlived its bound")
	}
	w.waitOps(t, 50)
	if rep, err = p4.Reindex(t.Context(), "instruments", ReindexOptions{}); err != nil {
		t.Fatalf("rerun: %v (report %+v)", err, rep)
	}
	w.waitOps(t, 30)
	w.stop(t)
	w.checkReadAlias(t, x.ReadAlias(), nil)
}

// testSetupLiftsWriteBlock: a write index that refuses writes is reported
// (drift, exit 3) even with no reindex around, and setup lifts the block.
func testSetupLiftsWriteBlock(t *testing.T, engine string) {
	srv := testenv.Search(t, engine)
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("documents")
	if _, err := p.b.addWriteBlock(t.Context(), x.Physical(1)); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, p)
	if it := item(t, st, "index", "documents"); it.State != StateDrift || !strings.Contains(it.Detail, "refuses writes") || !st.Drift {
		t.Fatalf("status of a write-blocked write index: %+v", it)
	}
	if !hasAction(mustSetup(t, p), "settings", opUpdate) {
		t.Error("setup planned no settings update")
	}
	if _, blocked := indexBlocked(t, p, x.Physical(1)); blocked {
		t.Fatal("setup left the write block")
	}
	if s := docOp(t, p, x.WriteAlias(), "index", "1", `{"title":"after"}`); s != 201 {
		t.Fatalf("write after setup: HTTP %d", s)
	}
	if st := mustStatus(t, p); st.Drift {
		t.Errorf("status after setup: %+v", st.Items)
	}
}

// runningCopiesInto lists running _reindex tasks writing into dst.
func runningCopiesInto(t *testing.T, p *Provisioner, dst string) []string {
	t.Helper()
	raw, err := p.b.reindexTasks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Nodes map[string]struct {
			Tasks map[string]struct{ Description string } `json:"tasks"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range list.Nodes {
		for id, task := range n.Tasks {
			if strings.HasSuffix(task.Description, " to ["+dst+"]") {
				out = append(out, id)
			}
		}
	}
	return out
}

// Ctrl-C during the server-side copy cancels the _reindex task: left
// running, it would write old versions into the new index behind a rerun.
func TestOpenSearchCancelStopsServerCopy(t *testing.T) {
	t.Parallel()
	srv := testenv.Search(t, "opensearch")
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("instruments")
	loadStatic(t, p, x.WriteAlias(), 3000)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := make(chan struct{})
	go func() { // cancel as soon as the server copy runs
		defer close(seen)
		for ctx.Err() == nil {
			if len(runningCopiesInto(t, p, x.Physical(4))) > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err := p.Reindex(ctx, "instruments", ReindexOptions{BatchSize: 10})
	<-seen
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancelled reindex, got %v", err)
	}
	if ids := runningCopiesInto(t, p, x.Physical(4)); len(ids) > 0 {
		t.Fatalf("server copy tasks still running after Ctrl-C: %v", ids)
	}
}

// A _reindex task left running by a killed run is cancelled by the rerun
// before it catches up; the result is the writer's exact state.
func TestOpenSearchResumeStopsLeftoverServerCopy(t *testing.T) {
	t.Parallel()
	srv := testenv.Search(t, "opensearch")
	p := newTestProvisioner(t, srv, nil, nil)
	mustSetup(t, p)
	x, _ := p.defs.Index("instruments")
	static := loadStatic(t, p, x.WriteAlias(), 500)
	w := newAppWriter(t, p, x.WriteAlias(), 300)
	// What a run killed during its server copy leaves: the new index, and a
	// task still copying into it (throttled here so that it outlives the kill).
	f, _ := p.features(t.Context())
	settings, mappings := p.desiredIndex(x, f)
	body, _ := json.Marshal(map[string]any{"settings": settings, "mappings": mappings})
	if err := p.b.createIndex(t.Context(), x.Physical(4), body); err != nil {
		t.Fatal(err)
	}
	if err := p.b.refresh(t.Context(), x.Physical(3)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/_reindex?wait_for_completion=false&requests_per_second=1",
		strings.NewReader(fmt.Sprintf(`{"source":{"index":%q,"size":10},"dest":{"index":%q}}`, x.Physical(3), x.Physical(4))))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	leftover, err := taskID(raw)
	if err != nil {
		t.Fatal(err)
	}
	w.run(2, 100)
	w.waitOps(t, 50)
	rep, err := p.Reindex(t.Context(), "instruments", ReindexOptions{AfterStep: func(_ context.Context, s string) {
		if s == StepTargetReady {
			if ids := runningCopiesInto(t, p, x.Physical(4)); len(ids) > 0 {
				t.Errorf("the leftover copy still runs after the target was taken back: %v", ids)
			}
		}
		if s == StepCopied {
			w.waitOps(t, 50)
		}
	}})
	w.waitOps(t, 30)
	w.stop(t)
	if err != nil || rep.Resumed != ResumedInterrupted {
		t.Fatalf("rerun: %v (report %+v)", err, rep)
	}
	raw, err = p.b.task(t.Context(), leftover)
	if err != nil {
		t.Fatal(err)
	}
	var done struct {
		Completed bool `json:"completed"`
		Response  struct {
			Canceled string `json:"canceled"`
		} `json:"response"`
	}
	if err := json.Unmarshal(raw, &done); err != nil || !done.Completed || done.Response.Canceled == "" {
		t.Errorf("the leftover task was not cancelled: %.600s", raw)
	}
	w.checkReadAlias(t, x.ReadAlias(), static)
}
