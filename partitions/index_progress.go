package partitions

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/progress"
)

// indexProgressEvery is how often a running build is read from
// pg_stat_progress_create_index: a cheap read of shared memory.
const indexProgressEvery = 500 * time.Millisecond

// watchIndexBuild reports the progress of the CREATE INDEX that conn is about
// to run, as PostgreSQL publishes it in pg_stat_progress_create_index (the
// phase, and blocks or tuples done of the total), polled from a second
// connection: conn itself is busy with the build. The returned stop ends the
// watch and reports the phase's end. Without a progress Func, or when the
// second connection fails, it reports nothing; the build never depends on it.
func watchIndexBuild(ctx context.Context, conn *pgx.Conn, name string, prog progress.Func, log *slog.Logger) (stop func()) {
	if prog == nil {
		return func() {}
	}
	pid := conn.PgConn().PID()
	ev := progress.Event{Phase: "build index", Subject: name, Unit: progress.Blocks}
	prog(ev)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		mon, err := pgx.ConnectConfig(wctx, conn.Config())
		if err != nil {
			if wctx.Err() == nil {
				log.DebugContext(ctx, "index build progress unavailable", "index", name, "error", err)
			}
			return
		}
		defer mon.Close(context.WithoutCancel(ctx))
		t := time.NewTicker(indexProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			var phase string
			var blocksDone, blocksTotal, tuplesDone, tuplesTotal int64
			err := mon.QueryRow(wctx, `SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total
FROM pg_stat_progress_create_index WHERE pid = $1`, pid).Scan(&phase, &blocksDone, &blocksTotal, &tuplesDone, &tuplesTotal)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // not started yet, or between two statements
			}
			if err != nil {
				return
			}
			ev.Item = phase
			switch {
			case blocksTotal > 0: // scanning the table (or, validating, the index)
				ev.Unit, ev.Done, ev.Total = progress.Blocks, blocksDone, blocksTotal
			case tuplesTotal > 0: // sorting and loading tuples
				ev.Unit, ev.Done, ev.Total = progress.Tuples, tuplesDone, tuplesTotal
			default: // waiting for older transactions: nothing to count
				ev.Done, ev.Total = 0, 0
			}
			prog(ev)
		}
	})
	return func() {
		cancel()
		wg.Wait()
		ev.End = true
		prog(ev)
	}
}
