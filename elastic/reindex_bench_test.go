package elastic

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/quantx/quantx-db/internal/testenv"
)

// BenchmarkReindexWriteBlock measures how long a reindex refuses writes,
// for growing index sizes, with an application writing through the write
// alias at up to 300 operations a second (index, partial update, delete). The
// baseline is what the final catch-up would cost if it found deletions by
// comparing every id of both indices (two id-only scans, measured on the same
// indices right after the reindex, without a writer): the write block must
// not grow with the index the way that does.
//
//	go test -run '^$' -bench ReindexWriteBlock -benchtime 1x ./elastic/
func BenchmarkReindexWriteBlock(b *testing.B) {
	for _, engine := range []string{"opensearch", "elasticsearch"} {
		for _, n := range []int{1000, 10000, 100000} {
			b.Run(fmt.Sprintf("%s/docs=%d", engine, n), func(b *testing.B) {
				for range b.N {
					benchReindexOnce(b, engine, n)
				}
			})
		}
	}
}

func benchReindexOnce(b *testing.B, engine string, n int) {
	b.StopTimer()
	srv := testenv.Search(b, engine)
	p, err := New(b.Context(), Options{URL: srv.URL, Prefix: srv.Prefix})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Setup(b.Context()); err != nil {
		b.Fatal(err)
	}
	x, _ := p.defs.Index("instruments")
	loadStatic(b, p, x.WriteAlias(), n)
	w := newAppWriter(b, p, x.WriteAlias(), 1000)
	o := v4Defs(b)
	o.URL, o.Prefix = srv.URL, srv.Prefix
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p4, err := New(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	w.run(3, 100)
	time.Sleep(500 * time.Millisecond)
	b.StartTimer()
	start := time.Now()
	rep, err := p4.Reindex(b.Context(), "instruments", ReindexOptions{KeepOld: true})
	total := time.Since(start)
	b.StopTimer()
	close(w.stopCh)
	w.wg.Wait()
	if err != nil {
		b.Fatalf("reindex: %v", err)
	}
	if werr := w.error(); werr != nil {
		b.Fatalf("writer: %v", werr)
	}
	// Baseline: a full id comparison of both indices.
	scanStart := time.Now()
	for _, ix := range []string{rep.From, rep.To} {
		err := p.scrollAll(context.Background(), ix, -1, map[string]any{"size": idPage, "sort": []any{"_doc"}, "_source": false,
			"query": map[string]any{"match_all": map[string]any{}}}, func([]hit) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	fullDiff := time.Since(scanStart)
	b.ReportMetric(float64(rep.WriteBlockMS), "block_ms")
	b.ReportMetric(float64(fullDiff.Milliseconds()), "full_id_diff_ms")
	b.ReportMetric(float64(rep.WriteBlockMS)/float64(max(fullDiff.Milliseconds(), 1)), "block/full_diff")
	b.ReportMetric(float64(total.Milliseconds()), "reindex_ms")
	b.ReportMetric(float64(rep.FinalDelta), "final_delta_docs")
	b.ReportMetric(float64(rep.Deleted), "deleted_docs")
	b.ReportMetric(float64(w.refused.Load()), "refused_writes")
	b.Logf("%s n=%d: %+v", engine, n, rep)
}
