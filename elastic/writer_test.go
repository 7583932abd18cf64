package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// appWriter is an application writing through the write alias while a
// reindex runs: each worker indexes whole documents, updates fields in place
// (_update) and deletes, on ids no other worker touches, one request at a
// time, and keeps the state its acknowledged requests leave. Each answer is
// also checked against that state as it comes (an update or delete answering
// 404 for a document the writer holds means a write was lost). A write
// refused with 403 cluster_block_exception (the reindex's write block) is
// retried, as the reindex contract asks of writers.
type appWriter struct {
	p     *Provisioner
	alias string
	// splitMode: the write index may not yet hold documents that readers
	// see (the split-aliases state): no partial updates, and a delete may
	// answer 404 for a document the writer knows.
	splitMode bool

	mu      sync.Mutex
	state   map[string]json.RawMessage // id → source; absent: never written or deleted
	ops     atomic.Int64
	refused atomic.Int64
	opsCh   chan struct{} // one tick per acknowledged operation
	stopCh  chan struct{}
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error
	dead    chan struct{} // closed when a worker fails
}

// newAppWriter loads initial documents (ids w0..w{n-1}) through the alias
// and returns a writer that owns them; start it with run.
func newAppWriter(t testing.TB, p *Provisioner, alias string, n int) *appWriter {
	t.Helper()
	w := &appWriter{p: p, alias: alias, state: map[string]json.RawMessage{}, opsCh: make(chan struct{}, 1<<16), stopCh: make(chan struct{}), dead: make(chan struct{})}
	var buf bytes.Buffer
	for i := range n {
		id := fmt.Sprintf("w%d", i)
		doc := fullDoc(id, 0)
		bulkLine(&buf, "index", map[string]any{"_index": alias, "_id": id}, doc)
		w.state[id] = doc
	}
	if n > 0 {
		if _, _, err := p.runBulk(t.Context(), buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func fullDoc(id string, rev int64) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"symbol": id, "name": "Instrument " + id, "industry": fmt.Sprintf("rev%d", rev),
		"market_cap": rev, "is_active": rev%2 == 0})
	return b
}

// run starts workers, each at most perSecond operations a second.
func (w *appWriter) run(workers int, perSecond int) {
	ids := slices.Sorted(maps.Keys(w.state))
	for k := range workers {
		var own []string
		for i, id := range ids {
			if i%workers == k {
				own = append(own, id)
			}
		}
		// New ids too: index creates documents the reindex never saw.
		for i := range len(own) / 4 {
			own = append(own, fmt.Sprintf("n%d_%d", k, i))
		}
		w.wg.Add(1)
		go w.work(k, own, perSecond)
	}
}

func (w *appWriter) work(k int, ids []string, perSecond int) {
	defer w.wg.Done()
	rng := rand.New(rand.NewPCG(uint64(k), uint64(time.Now().UnixNano())))
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	for {
		select {
		case <-w.stopCh:
			return
		case <-tick.C:
		}
		id := ids[rng.IntN(len(ids))]
		rev := w.ops.Load() + 1
		if err := w.apply(id, rev, rng.Float64()); err != nil {
			w.errMu.Lock()
			if w.err == nil {
				w.err = err
				close(w.dead)
			}
			w.errMu.Unlock()
			return
		}
		w.ops.Add(1)
		select {
		case w.opsCh <- struct{}{}:
		default:
		}
	}
}

// apply sends one operation and records what it left.
func (w *appWriter) apply(id string, rev int64, r float64) error {
	var buf bytes.Buffer
	var op string
	var fields json.RawMessage
	switch {
	case r < 0.45 || (w.splitMode && r < 0.7):
		op = "index"
		bulkLine(&buf, op, map[string]any{"_index": w.alias, "_id": id}, fullDoc(id, rev))
	case r < 0.7:
		op = "update"
		fields, _ = json.Marshal(map[string]any{"industry": fmt.Sprintf("rev%d", rev), "market_cap": rev})
		body, _ := json.Marshal(map[string]any{"doc": json.RawMessage(fields)})
		bulkLine(&buf, op, map[string]any{"_index": w.alias, "_id": id}, body)
	default:
		op = "delete"
		m, _ := json.Marshal(map[string]any{op: map[string]any{"_index": w.alias, "_id": id}})
		buf.Write(m)
		buf.WriteByte('\n')
	}
	for {
		raw, err := w.p.b.bulk(context.Background(), buf.Bytes())
		if err != nil {
			return fmt.Errorf("%s %s: %w", op, id, err)
		}
		var res struct {
			Items []map[string]struct {
				Status int `json:"status"`
				Error  struct {
					Type   string `json:"type"`
					Reason string `json:"reason"`
				} `json:"error"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &res); err != nil || len(res.Items) != 1 {
			return fmt.Errorf("%s %s: answer %.300s", op, id, raw)
		}
		item := res.Items[0][op]
		if item.Status == 403 && item.Error.Type == "cluster_block_exception" {
			w.refused.Add(1)
			time.Sleep(2 * time.Millisecond)
			continue // refused during the write block: retry, as writers must
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		cur, held := w.state[id]
		switch {
		case item.Status == 404 && op == "delete" && (!held || w.splitMode):
			delete(w.state, id)
		case item.Status == 404 && op == "update" && !held:
		case item.Status >= 300:
			return fmt.Errorf("%s %s (held: %t): HTTP %d %s: %s", op, id, held, item.Status, item.Error.Type, item.Error.Reason)
		case op == "index":
			w.state[id] = fullDoc(id, rev)
		case op == "update":
			if !held {
				return fmt.Errorf("update %s succeeded on a document the writer had deleted or never written", id)
			}
			var d, f map[string]any
			_ = json.Unmarshal(cur, &d)
			_ = json.Unmarshal(fields, &f)
			maps.Copy(d, f)
			w.state[id], _ = json.Marshal(d)
		case op == "delete":
			if !held {
				return fmt.Errorf("delete %s found a document the writer had deleted or never written", id)
			}
			delete(w.state, id)
		}
		return nil
	}
}

// waitOps blocks until n more operations were acknowledged.
func (w *appWriter) waitOps(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for range n {
		select {
		case <-w.opsCh:
		case <-w.dead:
			t.Fatalf("writer: %v", w.error())
		case <-deadline:
			t.Fatalf("writer stalled: %d operations so far", w.ops.Load())
		}
	}
}

// waitRefused blocks until the writer saw one more refused write.
func (w *appWriter) waitRefused(t *testing.T, timeout time.Duration) {
	t.Helper()
	before := w.refused.Load()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if w.refused.Load() > before {
			return
		}
	}
	t.Errorf("no write refused within %s of the write block", timeout)
}

func (w *appWriter) error() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// stop ends the workers and fails the test on any error they met.
func (w *appWriter) stop(t *testing.T) {
	t.Helper()
	close(w.stopCh)
	w.wg.Wait()
	if err := w.error(); err != nil {
		t.Fatalf("writer: %v", err)
	}
}

// checkReadAlias compares every id and source behind alias with the
// writer's final state (plus want, documents the writer never touched).
func (w *appWriter) checkReadAlias(t *testing.T, alias string, want map[string]json.RawMessage) {
	t.Helper()
	w.mu.Lock()
	all := maps.Clone(w.state)
	w.mu.Unlock()
	maps.Copy(all, want)
	ctx := t.Context()
	if err := w.p.b.refresh(ctx, alias); err != nil {
		t.Fatal(err)
	}
	got := map[string]json.RawMessage{}
	err := w.p.scrollAll(ctx, alias, -1, map[string]any{"size": 1000, "sort": []any{"_doc"}, "query": map[string]any{"match_all": map[string]any{}}}, func(hits []hit) error {
		for _, h := range hits {
			if _, dup := got[h.ID]; dup {
				return fmt.Errorf("id %s twice behind %s", h.ID, alias)
			}
			got[h.ID] = h.Source
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var lost, resurrected, stale []string
	for id, src := range all {
		g, ok := got[id]
		switch {
		case !ok:
			lost = append(lost, id)
		case !sameJSON(g, src):
			stale = append(stale, fmt.Sprintf("%s: %s, want %s", id, g, src))
		}
	}
	for id := range got {
		if _, ok := all[id]; !ok {
			resurrected = append(resurrected, id)
		}
	}
	if len(lost)+len(resurrected)+len(stale) > 0 {
		t.Errorf("read alias %s against the writer's final state (%d documents): %d lost %v, %d deleted but present %v, %d with another source %v",
			alias, len(all), len(lost), first(lost), len(resurrected), first(resurrected), len(stale), first(stale))
	}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func first(xs []string) []string {
	slices.Sort(xs)
	return xs[:min(len(xs), 5)]
}
