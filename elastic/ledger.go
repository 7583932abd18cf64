package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
)

// ledger remembers, for every document of the new index, which version of
// the old index it holds: the shard and _seq_no of the operation that wrote
// it there. Every operation of a shard has its own _seq_no, so a document
// deleted from the old index shows as an entry whose _seq_no is no longer
// among the live documents. Counting live documents per _seq_no bucket with
// one histogram aggregation per shard, and reading only the buckets that
// disagree, finds the deleted documents in time proportional to the changes,
// not to the size of the index: this is what keeps the write block short.
//
// The ledger may name a newer version than the new index holds (it is
// written just before each bulk request), never miss a document the new
// index holds: sweepUntracked makes sure of that after the bulk copy.
// Memory: about 100 bytes a document plus the id.
type ledger struct {
	at      map[string]uint64 // id → shard<<48 | _seq_no
	routing map[string]string // id → custom routing, for the few documents that have one
}

const seqBits = 48

func newLedger() *ledger { return &ledger{at: map[string]uint64{}, routing: map[string]string{}} }

func (l *ledger) note(shard int, h hit) error {
	if h.SeqNo == nil || *h.SeqNo < 0 || *h.SeqNo >= 1<<seqBits || shard < 0 || shard >= 1<<(64-seqBits) {
		return fmt.Errorf("document %s: no usable _seq_no (shard %d) in the search answer", h.ID, shard)
	}
	l.at[h.ID] = uint64(shard)<<seqBits | uint64(*h.SeqNo)
	if h.Routing != nil {
		l.routing[h.ID] = *h.Routing
	} else {
		delete(l.routing, h.ID)
	}
	return nil
}

func (l *ledger) forget(id string) {
	delete(l.at, id)
	delete(l.routing, id)
}

func unpack(k uint64) (shard int, seq int64) { return int(k >> seqBits), int64(k & (1<<seqBits - 1)) }

func (l *ledger) deleteLine(buf *bytes.Buffer, index, id string) {
	meta := map[string]any{"_index": index, "_id": id}
	if r, ok := l.routing[id]; ok {
		meta["routing"] = r
	}
	m, _ := json.Marshal(map[string]any{"delete": meta})
	buf.Write(m)
	buf.WriteByte('\n')
}

// copyShard copies the documents of one shard of src that match query into
// dst (plain index: before the switch only Reindex writes to dst, one round
// after another) and notes each in l. It returns the documents written.
func (p *Provisioner) copyShard(ctx context.Context, src, dst string, shard int, query map[string]any, batch int, l *ledger, progress func(int64)) (int64, error) {
	var n int64
	body := map[string]any{"size": batch, "sort": []any{"_doc"}, "query": query}
	err := p.searchPages(ctx, src, shard, body, func(hits []hit) error {
		var buf bytes.Buffer
		for _, h := range hits {
			if err := l.note(shard, h); err != nil {
				return err
			}
			bulkLine(&buf, "index", h.meta(dst, nil), h.Source)
		}
		c, _, err := p.runBulk(ctx, buf.Bytes())
		n += c
		if progress != nil {
			progress(c)
		}
		return err
	})
	return n, err
}

// copyAll is the client-side bulk copy: every shard of src, scroll + bulk.
func (p *Provisioner) copyAll(ctx context.Context, src, dst string, shards []int, total int64, batch int, l *ledger) (int64, error) {
	var copied int64
	progress := func(c int64) {
		copied += c
		p.copied(dst, copied, total, false)
	}
	for _, s := range shards {
		if _, err := p.copyShard(ctx, src, dst, s, map[string]any{"match_all": map[string]any{}}, batch, l, progress); err != nil {
			return copied, err
		}
	}
	return copied, nil
}

// copyChanged copies every document of src whose _seq_no is above marks[its
// shard]: written after the checkpoint.
func (p *Provisioner) copyChanged(ctx context.Context, src, dst string, marks map[int]int64, batch int, l *ledger) (int64, error) {
	var n int64
	for _, s := range slices.Sorted(maps.Keys(marks)) {
		c, err := p.copyShard(ctx, src, dst, s, map[string]any{"range": map[string]any{"_seq_no": map[string]any{"gt": marks[s]}}}, batch, l, nil)
		n += c
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// noteAll fills l from an id-only scan of every shard of src (after a
// server-side copy, whose documents the client never sees).
func (p *Provisioner) noteAll(ctx context.Context, src string, shards []int, l *ledger) error {
	for _, s := range shards {
		err := p.scrollAll(ctx, src, s, map[string]any{"size": idPage, "sort": []any{"_doc"}, "_source": false,
			"query": map[string]any{"match_all": map[string]any{}}}, func(hits []hit) error {
			for _, h := range hits {
				if err := l.note(s, h); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sweepUntracked deletes from dst every document the ledger does not know,
// after the bulk copy: the ledger holds every document of src at the copy's
// snapshot, so such a document is one src no longer has (left by the server
// copy's earlier snapshot or by an interrupted run), or one written to src
// since, which has a _seq_no above the copy's checkpoints and comes back with
// the next catch-up round. One id-only scan of dst, before the write block.
func (p *Provisioner) sweepUntracked(ctx context.Context, dst string, l *ledger) (int64, error) {
	if err := p.b.refresh(ctx, dst); err != nil {
		return 0, err
	}
	var n int64
	err := p.scrollAll(ctx, dst, -1, map[string]any{"size": idPage, "sort": []any{"_doc"}, "_source": false,
		"query": map[string]any{"match_all": map[string]any{}}}, func(hits []hit) error {
		var buf bytes.Buffer
		for _, h := range hits {
			if _, ok := l.at[h.ID]; !ok {
				m, _ := json.Marshal(map[string]any{"delete": h.meta(dst, nil)})
				buf.Write(m)
				buf.WriteByte('\n')
			}
		}
		if buf.Len() == 0 {
			return nil
		}
		c, _, err := p.runBulk(ctx, buf.Bytes(), 404) // 404: already gone
		n += c
		return err
	})
	return n, err
}

// idPage is the page size of id-only scans.
const idPage = 10000

// reconcile deletes from dst the documents whose version in the ledger is no
// longer live in src, looking only at _seq_no up to bound[shard], where every
// operation is searchable (src refreshed after bound was read). With frozen
// false (writers still on src), a document found this way may have been
// updated rather than deleted: those still in src are left for the next
// catch-up round, which copies them (their new _seq_no is above bound).
func (p *Provisioner) reconcile(ctx context.Context, src, dst string, l *ledger, bound map[int]int64, frozen bool) (int64, error) {
	var gone []string
	for _, s := range slices.Sorted(maps.Keys(bound)) {
		g, err := p.reconcileShard(ctx, src, s, bound[s], l)
		if err != nil {
			return 0, err
		}
		gone = append(gone, g...)
	}
	if len(gone) == 0 {
		return 0, nil
	}
	if !frozen {
		present, err := p.presentIn(ctx, src, gone)
		if err != nil {
			return 0, err
		}
		gone = slices.DeleteFunc(gone, func(id string) bool { return present[id] })
	}
	var n int64
	for chunk := range slices.Chunk(gone, idPage) {
		var buf bytes.Buffer
		for _, id := range chunk {
			l.deleteLine(&buf, dst, id)
		}
		c, _, err := p.runBulk(ctx, buf.Bytes(), 404) // 404: already gone
		n += c
		if err != nil {
			return n, err
		}
		for _, id := range chunk {
			l.forget(id)
		}
	}
	return n, nil
}

// reconcileShard returns the ids whose ledger entry on shard is at most bound
// and not among the live documents of src.
func (p *Provisioner) reconcileShard(ctx context.Context, src string, shard int, bound int64, l *ledger) ([]string, error) {
	var count int64
	lo, hi := int64(math.MaxInt64), int64(-1)
	for _, k := range l.at {
		if s, seq := unpack(k); s == shard && seq <= bound {
			count++
			lo, hi = min(lo, seq), max(hi, seq)
		}
	}
	if count == 0 {
		return nil, nil
	}
	// About 256 ledger entries a bucket, at most 10000 buckets.
	buckets := min(max(count/256, 1), 10000)
	width := max((hi-lo+1+buckets-1)/buckets, 1)
	want := map[int64]int64{}
	for _, k := range l.at {
		if s, seq := unpack(k); s == shard && seq <= bound {
			want[seq/width]++
		}
	}
	body, _ := json.Marshal(map[string]any{"size": 0, "track_total_hits": false,
		"query": map[string]any{"range": map[string]any{"_seq_no": map[string]any{"lte": bound}}},
		"aggs":  map[string]any{"seq": map[string]any{"histogram": map[string]any{"field": "_seq_no", "interval": width, "min_doc_count": 1}}}})
	raw, err := p.b.searchShard(ctx, src, shard, body, 0)
	if err != nil {
		return nil, err
	}
	var res struct {
		Aggregations struct {
			Seq struct {
				Buckets []struct {
					Key      float64 `json:"key"`
					DocCount int64   `json:"doc_count"`
				} `json:"buckets"`
			} `json:"seq"`
		} `json:"aggregations"`
	}
	if err := jsonUnmarshal(raw, &res); err != nil {
		return nil, err
	}
	live := map[int64]int64{}
	for _, b := range res.Aggregations.Seq.Buckets {
		live[int64(b.Key)/width] = b.DocCount
	}
	var differ []int64
	for b, n := range want {
		switch {
		case live[b] > n:
			// Every live document at or below bound was copied: more live
			// than copied means the ledger is wrong. Stop before switching.
			return nil, fmt.Errorf("%w: shard %d of %s has %d live documents with _seq_no in [%d, %d], the copy only %d",
				ErrVerifyFailed, shard, src, live[b], b*width, (b+1)*width-1, n)
		case live[b] < n:
			differ = append(differ, b)
		}
	}
	for b := range live {
		if _, ok := want[b]; !ok {
			return nil, fmt.Errorf("%w: shard %d of %s has %d live documents with _seq_no in [%d, %d] the copy never saw",
				ErrVerifyFailed, shard, src, live[b], b*width, (b+1)*width-1)
		}
	}
	if len(differ) == 0 {
		return nil, nil
	}
	// Read the live _seq_no of the buckets that differ, a few buckets a request.
	slices.Sort(differ)
	liveSeq := map[int64]bool{}
	for chunk := range slices.Chunk(differ, 64) {
		ranges := make([]any, len(chunk))
		for i, b := range chunk {
			ranges[i] = map[string]any{"range": map[string]any{"_seq_no": map[string]any{"gte": b * width, "lte": min((b+1)*width-1, bound)}}}
		}
		err := p.searchPages(ctx, src, shard, map[string]any{"size": idPage, "sort": []any{"_doc"}, "_source": false,
			"query": map[string]any{"bool": map[string]any{"should": ranges, "minimum_should_match": 1}}}, func(hits []hit) error {
			for _, h := range hits {
				if h.SeqNo != nil {
					liveSeq[*h.SeqNo] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	inDiffer := map[int64]bool{}
	for _, b := range differ {
		inDiffer[b] = true
	}
	var gone []string
	for id, k := range l.at {
		if s, seq := unpack(k); s == shard && seq <= bound && inDiffer[seq/width] && !liveSeq[seq] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	return gone, nil
}

// presentIn returns which of ids src holds now.
func (p *Provisioner) presentIn(ctx context.Context, src string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for chunk := range slices.Chunk(ids, idPage) {
		body, _ := json.Marshal(map[string]any{"size": len(chunk), "_source": false, "query": map[string]any{"ids": map[string]any{"values": chunk}}})
		raw, err := p.b.search(ctx, src, body, 0)
		if err != nil {
			return nil, err
		}
		var res searchResult
		if err := jsonUnmarshal(raw, &res); err != nil {
			return nil, err
		}
		for _, h := range res.Hits.Hits {
			out[h.ID] = true
		}
	}
	return out, nil
}

// shardsOf lists the shard numbers of a checkpoint map, in order.
func shardsOf(marks map[int]int64) []int { return slices.Sorted(maps.Keys(marks)) }
