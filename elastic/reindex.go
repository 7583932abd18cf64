package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ReindexOptions tunes Reindex. The zero value is the safe default.
type ReindexOptions struct {
	KeepOld       bool          // keep the old physical index (still searchable by name) instead of deleting it
	CatchUpMargin time.Duration // how far before the write-alias switch the catch-up looks; 0 means 5 minutes
	BatchSize     int           // documents per scroll page and bulk request; 0 means 1000
}

// ReindexReport says what Reindex did.
type ReindexReport struct {
	Index       string `json:"index"`
	From        string `json:"from"`
	To          string `json:"to"`
	Method      string `json:"method"` // server_reindex, client_scroll, or cutover (time-based: no copy)
	Copied      int64  `json:"copied"`
	KeptNewer   int64  `json:"kept_newer"` // documents already written to the new index through the write alias
	CaughtUp    int64  `json:"caught_up"`  // documents re-copied because they changed in the old index during the copy
	SourceCount int64  `json:"source_count"`
	TargetCount int64  `json:"target_count"`
	OldDeleted  bool   `json:"old_deleted"`
	DurationMS  int64  `json:"duration_ms"`
}

// Reindex moves a logical index to a new physical version without losing
// writes, in this order (docs/elastic.md explains why):
//
//  1. create BASE-vN+1 (N+1 = max(definition version, live version + 1)) from
//     the current templates;
//  2. move the write alias to it in one _aliases call: from now on every write
//     lands in the new index, readers still see the old one;
//  3. copy old → new with op_type=create (server _reindex where the engine has
//     it, else scroll + bulk): a document already written to the new index is
//     newer and is never overwritten;
//  4. catch up: documents of the old index with updated_at after the switch
//     (minus a margin) that were written by requests in flight during the
//     switch are copied again when newer, guarded by if_seq_no/if_primary_term;
//  5. verify the new index holds at least as many documents as the old one;
//  6. swap the read alias in one _aliases call, then delete the old index
//     unless KeepOld.
//
// A time-based index is not copied: the write alias moves to BASE-vN+1-000001
// and the old generations stay readable until retention removes them.
func (p *Provisioner) Reindex(ctx context.Context, name string, o ReindexOptions) (ReindexReport, error) {
	start := time.Now()
	x, err := p.defs.Index(name)
	if err != nil {
		return ReindexReport{}, err
	}
	if o.CatchUpMargin == 0 {
		o.CatchUpMargin = 5 * time.Minute
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	f, err := p.features(ctx)
	if err != nil {
		return ReindexReport{}, err
	}
	rep := ReindexReport{Index: x.Name}
	readIdx, _, err := p.aliasTargets(ctx, x.ReadAlias())
	if err != nil {
		return rep, err
	}
	writeAll, writeIdx, err := p.aliasTargets(ctx, x.WriteAlias())
	if err != nil {
		return rep, err
	}
	if writeIdx == "" {
		return rep, fmt.Errorf("reindex %s: %w: %s has no write index (run setup first)", x.Name, ErrNotSetUp, x.WriteAlias())
	}
	if err := p.putTemplates(ctx, x, f); err != nil {
		return rep, fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	if x.TimeBased {
		rep, err = p.cutover(ctx, x, f, writeAll, writeIdx)
		rep.DurationMS = time.Since(start).Milliseconds()
		return rep, err
	}
	if len(readIdx) != 1 {
		return rep, fmt.Errorf("reindex %s: %s points at %d indices, want 1", x.Name, x.ReadAlias(), len(readIdx))
	}
	src := readIdx[0]
	rep.From = src
	srcV := x.versionOf(src)
	target := x.Physical(max(x.Version, srcV+1))
	switchAt := p.now()
	if writeIdx != src && x.versionOf(writeIdx) > srcV {
		// A reindex stopped after step 2: the write alias already points at the
		// new index. Resume with it; the copy is idempotent (op_type=create).
		target = writeIdx
		p.log.InfoContext(ctx, "resuming reindex", "index", x.Name, "from", src, "to", target)
	} else {
		settings, mappings := p.desiredIndex(x, f)
		body, err := json.Marshal(map[string]any{"settings": settings, "mappings": mappings})
		if err != nil {
			return rep, err
		}
		if err := p.b.createIndex(ctx, target, body); err != nil {
			return rep, fmt.Errorf("reindex %s: %w", x.Name, err)
		}
		switchAt = p.now()
		if err := p.b.updateAliases(ctx, aliasBody([]aliasOp{
			{index: src, alias: x.WriteAlias()},
			{add: true, index: target, alias: x.WriteAlias(), write: true},
		})); err != nil {
			return rep, fmt.Errorf("reindex %s: move write alias: %w", x.Name, err)
		}
		p.log.InfoContext(ctx, "write alias moved", "index", target, "alias", x.WriteAlias())
	}
	rep.To = target

	if err := p.b.refresh(ctx, src); err != nil {
		return rep, err
	}
	total, err := p.count(ctx, src)
	if err != nil {
		return rep, err
	}
	rep.Method = "server_reindex"
	rep.Copied, rep.KeptNewer, err = p.serverCopy(ctx, src, target, total, o.BatchSize)
	if errors.Is(err, errNoHandler) {
		rep.Method = "client_scroll"
		rep.Copied, rep.KeptNewer, err = p.clientCopy(ctx, src, target, total, o.BatchSize)
	}
	if err != nil {
		return rep, fmt.Errorf("reindex %s: copy %s → %s: %w", x.Name, src, target, err)
	}
	if rep.CaughtUp, err = p.catchUp(ctx, src, target, switchAt.Add(-o.CatchUpMargin), o.BatchSize); err != nil {
		return rep, fmt.Errorf("reindex %s: catch-up: %w", x.Name, err)
	}

	for _, ix := range []string{src, target} {
		if err := p.b.refresh(ctx, ix); err != nil {
			return rep, err
		}
	}
	if rep.SourceCount, err = p.count(ctx, src); err != nil {
		return rep, err
	}
	if rep.TargetCount, err = p.count(ctx, target); err != nil {
		return rep, err
	}
	if rep.TargetCount < rep.SourceCount {
		return rep, fmt.Errorf("reindex %s: %w: %s has %d documents, %s only %d; readers stay on %s, writers already use %s: rerun reindex to resume",
			x.Name, ErrVerifyFailed, src, rep.SourceCount, target, rep.TargetCount, src, target)
	}
	if err := p.b.updateAliases(ctx, aliasBody([]aliasOp{
		{index: src, alias: x.ReadAlias()},
		{add: true, index: target, alias: x.ReadAlias()},
	})); err != nil {
		return rep, fmt.Errorf("reindex %s: swap read alias: %w", x.Name, err)
	}
	p.log.InfoContext(ctx, "read alias swapped", "index", target, "alias", x.ReadAlias())
	if !o.KeepOld {
		if err := p.b.deleteIndex(ctx, src); err != nil {
			return rep, fmt.Errorf("reindex %s: delete old index: %w", x.Name, err)
		}
		rep.OldDeleted = true
	}
	if err := p.record(ctx, Record{Kind: "index", Name: x.Name, Version: x.Version, Checksum: x.Checksum, PhysicalIndex: target}); err != nil {
		return rep, err
	}
	rep.DurationMS = time.Since(start).Milliseconds()
	return rep, nil
}

// putTemplates brings the templates of x up to date, so the new physical
// index and any later rollover get the new definition.
func (p *Provisioner) putTemplates(ctx context.Context, x *Index, f *features) error {
	for _, name := range x.ComposedOf {
		c := p.defs.component(name)
		b, _ := json.Marshal(p.componentBody(c))
		if err := p.b.putComponentTemplate(ctx, c.FullName, b); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(p.indexTemplateBody(x, f))
	return p.b.putIndexTemplate(ctx, x.Base, b)
}

// cutover starts a new version of a time-based index by moving its write alias.
func (p *Provisioner) cutover(ctx context.Context, x *Index, f *features, writeAll []string, writeIdx string) (ReindexReport, error) {
	rep := ReindexReport{Index: x.Name, From: writeIdx, Method: "cutover"}
	target := x.Physical(max(x.Version, x.versionOf(writeIdx)+1))
	rep.To = target
	// The read alias comes from the template, like any generation's.
	if err := p.b.createIndex(ctx, target, []byte(`{}`)); err != nil {
		return rep, fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	ops := []aliasOp{}
	for _, ix := range writeAll {
		ops = append(ops, aliasOp{index: ix, alias: x.WriteAlias()})
	}
	ops = append(ops, aliasOp{add: true, index: target, alias: x.WriteAlias(), write: true})
	if err := p.b.updateAliases(ctx, aliasBody(ops)); err != nil {
		return rep, fmt.Errorf("reindex %s: move write alias: %w", x.Name, err)
	}
	return rep, p.record(ctx, Record{Kind: "index", Name: x.Name, Version: x.Version, Checksum: x.Checksum, PhysicalIndex: target})
}

// serverCopy runs _reindex as a task and polls it for progress.
func (p *Provisioner) serverCopy(ctx context.Context, src, dst string, total int64, batch int) (copied, kept int64, err error) {
	body, _ := json.Marshal(map[string]any{
		"conflicts": "proceed",
		"source":    map[string]any{"index": src, "size": batch},
		"dest":      map[string]any{"index": dst, "op_type": "create"},
	})
	id, err := p.b.reindex(ctx, body)
	if err != nil {
		return 0, 0, err
	}
	for {
		raw, err := p.b.task(ctx, id)
		if err != nil {
			return copied, kept, err
		}
		var t struct {
			Completed bool `json:"completed"`
			Task      struct {
				Status struct {
					Total            int64 `json:"total"`
					Created          int64 `json:"created"`
					VersionConflicts int64 `json:"version_conflicts"`
				} `json:"status"`
			} `json:"task"`
			Response struct {
				Failures []json.RawMessage `json:"failures"`
			} `json:"response"`
			Error json.RawMessage `json:"error"`
		}
		if err := jsonUnmarshal(raw, &t); err != nil {
			return copied, kept, err
		}
		s := t.Task.Status
		copied, kept = s.Created, s.VersionConflicts
		if p.prog != nil {
			p.prog(s.Created+s.VersionConflicts, max(s.Total, total))
		}
		if t.Completed {
			if len(t.Error) > 0 {
				return copied, kept, fmt.Errorf("reindex task %s: %s", id, t.Error)
			}
			if len(t.Response.Failures) > 0 {
				return copied, kept, fmt.Errorf("reindex task %s: %d failures, first: %.300s", id, len(t.Response.Failures), t.Response.Failures[0])
			}
			return copied, kept, nil
		}
		select {
		case <-ctx.Done():
			return copied, kept, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scrollAll pages through index with a scroll (a consistent snapshot) and
// calls fn per page.
func (p *Provisioner) scrollAll(ctx context.Context, index string, query map[string]any, batch int, fn func([]hit) error) error {
	body, _ := json.Marshal(map[string]any{"size": batch, "sort": []any{"_doc"}, "query": query})
	const keep = 2 * time.Minute
	raw, err := p.b.search(ctx, index, body, keep)
	if err != nil {
		return err
	}
	var scrollID string
	defer func() {
		if scrollID != "" {
			_ = p.b.clearScroll(context.WithoutCancel(ctx), scrollID) // free the server's search context even after Ctrl-C
		}
	}()
	for {
		var res searchResult
		if err := jsonUnmarshal(raw, &res); err != nil {
			return err
		}
		scrollID = res.ScrollID
		if len(res.Hits.Hits) == 0 {
			return nil
		}
		if err := fn(res.Hits.Hits); err != nil {
			return err
		}
		if raw, err = p.b.scroll(ctx, scrollID, keep); err != nil {
			return err
		}
	}
}

// clientCopy is the copy for engines without _reindex: scroll + bulk create.
func (p *Provisioner) clientCopy(ctx context.Context, src, dst string, total int64, batch int) (copied, kept int64, err error) {
	err = p.scrollAll(ctx, src, map[string]any{"match_all": map[string]any{}}, batch, func(hits []hit) error {
		var buf bytes.Buffer
		for _, h := range hits {
			bulkLine(&buf, "create", map[string]any{"_index": dst, "_id": h.ID}, h.Source)
		}
		c, k, err := p.runBulk(ctx, buf.Bytes())
		copied, kept = copied+c, kept+k
		if p.prog != nil {
			p.prog(copied+kept, total)
		}
		return err
	})
	return copied, kept, err
}

// catchUp re-copies documents of src changed since `since` that are missing
// from dst or newer than dst's copy. The write is conditional on the seq_no
// read from dst, so a write through the alias in between wins.
func (p *Provisioner) catchUp(ctx context.Context, src, dst string, since time.Time, batch int) (int64, error) {
	if err := p.b.refresh(ctx, src); err != nil {
		return 0, err
	}
	var n int64
	query := map[string]any{"range": map[string]any{"updated_at": map[string]any{"gte": since.UTC().Format(time.RFC3339Nano)}}}
	err := p.scrollAll(ctx, src, query, batch, func(hits []hit) error {
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		body, _ := json.Marshal(map[string]any{"ids": ids})
		raw, err := p.b.mget(ctx, dst, body)
		if err != nil {
			return err
		}
		var res struct {
			Docs []hit `json:"docs"`
		}
		if err := jsonUnmarshal(raw, &res); err != nil {
			return err
		}
		cur := map[string]hit{}
		for _, d := range res.Docs {
			if d.Found != nil && *d.Found {
				cur[d.ID] = d
			}
		}
		var buf bytes.Buffer
		for _, h := range hits {
			d, ok := cur[h.ID]
			switch {
			case !ok:
				bulkLine(&buf, "create", map[string]any{"_index": dst, "_id": h.ID}, h.Source)
			case d.SeqNo != nil && d.PrimaryTerm != nil && updatedAt(h.Source).After(updatedAt(d.Source)):
				bulkLine(&buf, "index", map[string]any{"_index": dst, "_id": h.ID, "if_seq_no": *d.SeqNo, "if_primary_term": *d.PrimaryTerm}, h.Source)
			}
		}
		if buf.Len() == 0 {
			return nil
		}
		c, _, err := p.runBulk(ctx, buf.Bytes())
		n += c
		return err
	})
	return n, err
}

// updatedAt reads a document's updated_at (RFC 3339 or epoch milliseconds).
func updatedAt(src json.RawMessage) time.Time {
	var d struct {
		UpdatedAt json.RawMessage `json:"updated_at"`
	}
	if json.Unmarshal(src, &d) != nil {
		return time.Time{}
	}
	var s string
	if json.Unmarshal(d.UpdatedAt, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms)
		}
		return time.Time{}
	}
	var ms int64
	if json.Unmarshal(d.UpdatedAt, &ms) == nil {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

func bulkLine(buf *bytes.Buffer, op string, meta map[string]any, source json.RawMessage) {
	m, _ := json.Marshal(map[string]any{op: meta})
	buf.Write(m)
	buf.WriteByte('\n')
	buf.Write(bytes.TrimSpace(source))
	buf.WriteByte('\n')
}

// runBulk sends one bulk request. A 409 means the target already holds a
// newer write, which is the point: it is counted, not failed.
func (p *Provisioner) runBulk(ctx context.Context, body []byte) (done, conflicts int64, err error) {
	raw, err := p.b.bulk(ctx, body)
	if err != nil {
		return 0, 0, err
	}
	var res struct {
		Errors bool                        `json:"errors"`
		Items  []map[string]bulkItemResult `json:"items"`
	}
	if err := jsonUnmarshal(raw, &res); err != nil {
		return 0, 0, err
	}
	for _, item := range res.Items {
		for _, r := range item {
			switch {
			case r.Status >= 200 && r.Status < 300:
				done++
			case r.Status == 409:
				conflicts++
			default:
				reason := string(r.Error)
				var e struct {
					Type   string `json:"type"`
					Reason string `json:"reason"`
				}
				if json.Unmarshal(r.Error, &e) == nil && e.Reason != "" {
					reason = e.Type + ": " + e.Reason
				}
				return done, conflicts, fmt.Errorf("bulk: document %s: HTTP %d: %s", r.ID, r.Status, reason)
			}
		}
	}
	return done, conflicts, nil
}

type bulkItemResult struct {
	ID     string          `json:"_id"`
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}
