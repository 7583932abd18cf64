package partitions_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/progress"
	"github.com/quantx/quantx-db/partitions"
)

// TestCreateIndexProgress: a concurrent build reports the phases PostgreSQL
// publishes in pg_stat_progress_create_index, read from a second connection
// while the build's own one is busy, and ends with an End event. A
// transaction that wrote to the table holds the build in "waiting for writers
// before build" until it commits, so the test sees that phase for certain.
func TestCreateIndexProgress(t *testing.T) {
	t.Parallel()
	pool, _ := newDB(t)
	exec(t, pool, "CREATE TABLE prog (id int, v text)")
	exec(t, pool, "INSERT INTO prog SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
	writer, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback(context.Background())
	if _, err := writer.Exec(t.Context(), "INSERT INTO prog VALUES (0, 'open')"); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var events []progress.Event
	waiting := make(chan struct{})
	var once sync.Once
	report := func(e progress.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		if e.Item == "waiting for writers before build" {
			once.Do(func() { close(waiting) })
		}
	}
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	done := make(chan error, 1)
	go func() {
		_, err := partitions.CreateIndex(t.Context(), conn.Conn(), "CREATE INDEX CONCURRENTLY prog_v ON prog (v)", partitions.IndexOptions{Progress: report})
		done <- err
	}()
	select {
	case <-waiting:
	case err := <-done:
		t.Fatalf("the build finished while a writer was open: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no progress event saying the build waits for the writer")
	}
	if err := writer.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	last := events[len(events)-1]
	if events[0].Phase != "build index" || events[0].Subject != "prog_v" || !last.End {
		t.Fatalf("events: first %+v, last %+v", events[0], last)
	}
	for _, e := range events[:len(events)-1] {
		if e.End {
			t.Fatalf("an End event before the last: %+v", events)
		}
	}
}
