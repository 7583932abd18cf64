package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quantx/quantx-db/internal/progress"
)

// ReindexOptions tunes Reindex. The zero value is the safe default.
type ReindexOptions struct {
	KeepOld   bool // keep the old physical index (write-blocked, still searchable by name) instead of deleting it
	BatchSize int  // documents per scroll page and bulk request; 0 means 1000
	// MaxWriteBlock bounds how long writes through the write alias may be
	// refused during the final catch-up; 0 means 5 s. When the final catch-up
	// does not finish in time the block is lifted, writers go on with the old
	// index, and one more attempt is made before Reindex gives up with
	// ErrWriteBlockTimeout (nothing switched, nothing lost).
	MaxWriteBlock time.Duration
	// DryRun reports what Reindex would do (From, To, Method, Resumed, SourceCount) and changes
	// nothing; it fails with the error the reindex would fail with before copying (not set up, split
	// aliases it cannot join, a write-blocked index, a target in the way).
	DryRun bool
	// AfterStep, when set, is called after each step of the reindex with the
	// step's name (the Step* constants). Tests use it to interrupt a reindex
	// at an exact point by cancelling ctx.
	AfterStep func(ctx context.Context, step string)
}

// The steps of a reindex, in order, as passed to ReindexOptions.AfterStep.
const (
	StepTargetReady  = "target_ready"  // the new physical index exists (created, or left by an interrupted run); nothing visible changed
	StepCopied       = "copied"        // the bulk copy finished; readers and writers still use the old index
	StepCaughtUp     = "caught_up"     // unblocked catch-up rounds and the delete reconciliation finished
	StepWriteBlocked = "write_blocked" // the old index refuses writes (index.blocks.write): the final catch-up runs now
	StepSwitched     = "switched"      // both aliases point at the new index
)

// Resume kinds in ReindexReport.Resumed.
const (
	ResumedInterrupted = "interrupted"   // a new index left by an interrupted reindex of this version was reused
	ResumedSplit       = "split_aliases" // the read and write aliases were on different indices (see Reindex)
)

// ReindexReport says what Reindex did.
type ReindexReport struct {
	Index       string `json:"index"`
	From        string `json:"from"`
	To          string `json:"to"`
	DryRun      bool   `json:"dry_run"`           // nothing was changed: the fields say what would be done
	Method      string `json:"method"`            // server_reindex, client_scroll, or cutover (time-based: no copy); "copy" in a dry run
	Resumed     string `json:"resumed,omitempty"` // interrupted, split_aliases, or "" for a fresh run
	Copied      int64  `json:"copied"`            // documents written by the bulk copy
	CaughtUp    int64  `json:"caught_up"`         // documents copied again because they changed in the old index during the copy
	Rounds      int    `json:"rounds"`            // catch-up rounds, the final one under the write block included
	Deleted     int64  `json:"deleted"`           // documents removed from the new index because they were deleted from the old one during the copy
	FinalDelta  int64  `json:"final_delta"`       // documents copied during the write block
	KeptNewer   int64  `json:"kept_newer"`        // split_aliases only: documents already written or deleted through the write alias, left as they were
	SourceCount int64  `json:"source_count"`
	TargetCount int64  `json:"target_count"`
	// WriteBlockMS is how long writes through the write alias were refused:
	// from the write-block request until both aliases had moved. Attempts
	// counts the final catch-ups tried (more than 1 when one ran over
	// MaxWriteBlock and was rolled back).
	WriteBlockMS       int64 `json:"write_block_ms"`
	WriteBlockAttempts int   `json:"write_block_attempts"`
	OldDeleted         bool  `json:"old_deleted"`
	DurationMS         int64 `json:"duration_ms"`
}

const (
	defaultMaxWriteBlock = 5 * time.Second
	maxCatchUpRounds     = 10 // unblocked rounds before the write block, at most
	maxBlockAttempts     = 2
)

// Reindex moves a logical index to a new physical version. Guarantee: with
// writers indexing, updating and deleting through the write alias while it
// runs, the read alias afterwards holds exactly the writers' final state,
// document for document; each writer's request either succeeds against the
// index its result stays in, or is refused (HTTP 403 cluster_block_exception,
// at most MaxWriteBlock, never silently dropped) and must be retried, as
// writers retry any refused write. The steps (docs/elastic.md says why):
//
//  1. create BASE-vN+1 (N+1 = max(definition version, live version + 1)) from
//     the current templates, without aliases: readers and writers stay on
//     the old index;
//  2. copy old → new (server _reindex where the engine has it, else scroll +
//     bulk), after noting each shard's sequence-number checkpoint;
//  3. catch up in rounds: every document of the old index whose _seq_no is
//     above the previous round's checkpoint changed since and is copied
//     again; then documents no longer in the old index are deleted from the
//     new one;
//  4. block writes to the old index (PUT _block/write, which waits for the
//     writes in flight): the old index is now frozen. Copy what changed since
//     the last checkpoint, delete what was deleted (counts tell whether any
//     was), verify both indices hold the same documents, and move the read
//     and the write alias together in one _aliases call. Writers are refused
//     from the block to the switch: that is the only window, bounded by
//     MaxWriteBlock (over it the block is lifted and the step retried);
//  5. delete the old index unless KeepOld (a kept index stays write-blocked)
//     and record the history.
//
// Rerunning after an interruption finishes the job: a write block left on
// the old index is lifted and the new index of that run is reused. A read
// alias and a write alias on different indices (left by an older quantx-db,
// which moved the write alias first, or by hand) are joined on the write
// alias's index: documents of the read index are copied only where the write index never had them
// (external version 1 loses to any write or delete the write index still
// remembers; a delete older than index.gc_deletes, 60 s by default, cannot
// be told from a document never copied, and the document comes back).
//
// A time-based index is not copied: the write alias moves to BASE-vN+1-000001
// and the old generations stay readable until retention removes them.
func (p *Provisioner) Reindex(ctx context.Context, name string, o ReindexOptions) (ReindexReport, error) {
	start := time.Now()
	x, err := p.defs.Index(name)
	if err != nil {
		return ReindexReport{}, err
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.MaxWriteBlock <= 0 {
		o.MaxWriteBlock = defaultMaxWriteBlock
	}
	if o.AfterStep == nil {
		o.AfterStep = func(context.Context, string) {}
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
		return rep, fmt.Errorf("reindex %s: %w: %s has no write index", x.Name, ErrNotSetUp, x.WriteAlias())
	}
	if o.DryRun {
		rep, err = p.planReindex(ctx, x, f, readIdx, writeIdx)
		rep.DurationMS = time.Since(start).Milliseconds()
		return rep, err
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
	if writeIdx != src {
		if x.versionOf(writeIdx) <= x.versionOf(src) {
			return rep, fmt.Errorf("reindex %s: %w: readers on %s, writers on the older %s", x.Name, ErrSplitAliases, src, writeIdx)
		}
		err := p.joinSplit(ctx, x, src, writeIdx, o, &rep)
		rep.DurationMS = time.Since(start).Milliseconds()
		return rep, err
	}
	err = p.reindexCopy(ctx, x, f, src, o, &rep)
	rep.DurationMS = time.Since(start).Milliseconds()
	return rep, err
}

// reindexCopy is steps 1 to 5 of Reindex for an index whose read and write
// aliases point at src.
func (p *Provisioner) reindexCopy(ctx context.Context, x *Index, f *features, src string, o ReindexOptions, rep *ReindexReport) error {
	target, err := p.prepareTarget(ctx, x, f, src, rep)
	if err != nil {
		return fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	rep.To = target
	o.AfterStep(ctx, StepTargetReady)

	// 2. The bulk copy. Checkpoints first: every operation at or below them
	// is in the copy, everything above is caught up later.
	marks, err := p.checkpoints(ctx, src)
	if err != nil {
		return err
	}
	if err := p.b.refresh(ctx, src); err != nil {
		return err
	}
	total, err := p.count(ctx, src)
	if err != nil {
		return err
	}
	l := newLedger()
	rep.Method = "server_reindex"
	rep.Copied, err = p.serverCopy(ctx, src, target, total, o.BatchSize)
	if err == nil {
		err = p.noteAll(ctx, src, shardsOf(marks), l)
	}
	if errors.Is(err, errNoHandler) {
		rep.Method = "client_scroll"
		rep.Copied, err = p.copyAll(ctx, src, target, shardsOf(marks), total, o.BatchSize, l)
	}
	p.copied(target, rep.Copied, total, true)
	if err != nil {
		return fmt.Errorf("reindex %s: copy %s → %s: %w", x.Name, src, target, err)
	}
	d, err := p.sweepUntracked(ctx, target, l)
	rep.Deleted += d
	if err != nil {
		return fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	p.log.InfoContext(ctx, "reindex copied", "index", target, "documents", rep.Copied, "method", rep.Method)
	o.AfterStep(ctx, StepCopied)

	// 3. Catch up while writers go on, so that little is left for the block.
	if marks, err = p.catchUpRounds(ctx, src, target, marks, o.BatchSize, l, rep); err != nil {
		return fmt.Errorf("reindex %s: catch-up: %w", x.Name, err)
	}
	o.AfterStep(ctx, StepCaughtUp)

	// 4. The final catch-up under a write block, then the switch.
	for {
		rep.WriteBlockAttempts++
		err := p.finalCatchUp(ctx, x, src, target, marks, l, o, rep)
		if !errors.Is(err, errBlockBudget) {
			if err != nil {
				return fmt.Errorf("reindex %s: %w", x.Name, err)
			}
			break
		}
		if rep.WriteBlockAttempts >= maxBlockAttempts {
			return fmt.Errorf("reindex %s: %w: %d attempts of at most %s each; readers and writers stay on %s",
				x.Name, ErrWriteBlockTimeout, rep.WriteBlockAttempts, o.MaxWriteBlock, src)
		}
		p.log.WarnContext(ctx, "final catch-up ran over the write block bound; writes resumed, retrying", "index", src, "bound", o.MaxWriteBlock)
		if marks, err = p.catchUpRounds(ctx, src, target, marks, o.BatchSize, l, rep); err != nil {
			return fmt.Errorf("reindex %s: catch-up: %w", x.Name, err)
		}
	}
	p.log.InfoContext(ctx, "aliases switched", "index", target, "write_block_ms", rep.WriteBlockMS)
	o.AfterStep(ctx, StepSwitched)

	// 5. Clean up and record.
	if !o.KeepOld {
		if err := p.b.deleteIndex(ctx, src); err != nil {
			return fmt.Errorf("reindex %s: delete old index: %w", x.Name, err)
		}
		rep.OldDeleted = true
	}
	return p.record(ctx, Record{Kind: "index", Name: x.Name, Version: x.Version, Checksum: x.Checksum, PhysicalIndex: target})
}

// prepareTarget creates the new physical index, or takes back the one an
// interrupted run left (no aliases, a higher version than src, the desired
// mapping). A write block on src left by an interrupted final catch-up is
// lifted, so writers work again while the copy is redone.
func (p *Provisioner) prepareTarget(ctx context.Context, x *Index, f *features, src string, rep *ReindexReport) (string, error) {
	t, err := p.inspectTarget(ctx, x, f, src)
	if err != nil {
		return "", err
	}
	if t.srcBlocked {
		p.log.WarnContext(ctx, "lifting the write block an interrupted reindex left", "index", src)
		if err := p.removeWriteBlock(ctx, src); err != nil {
			return "", err
		}
	}
	if t.resume {
		if err := p.stopServerCopies(ctx, t.name); err != nil {
			return "", err
		}
		rep.Resumed = ResumedInterrupted
		p.log.InfoContext(ctx, "resuming reindex into the index an interrupted run left", "index", t.name)
		return t.name, nil
	}
	settings, mappings := p.desiredIndex(x, f)
	body, err := json.Marshal(map[string]any{"settings": settings, "mappings": mappings})
	if err != nil {
		return "", err
	}
	return t.name, p.b.createIndex(ctx, t.name, body)
}

// targetState is what prepareTarget (and a dry run) find about the index a
// reindex of src would copy into.
type targetState struct {
	name       string
	resume     bool // it exists, left by an interrupted run, and is reused
	srcBlocked bool // src refuses writes, left so by an interrupted final catch-up
}

// inspectTarget reads, without changing anything, which index a reindex of
// src copies into and whether it can: the refusals of prepareTarget.
func (p *Provisioner) inspectTarget(ctx context.Context, x *Index, f *features, src string) (targetState, error) {
	all, err := p.getIndices(ctx, x.Pattern())
	if err != nil {
		return targetState{}, err
	}
	var orphans []string
	var t targetState
	byName := map[string]liveIndex{}
	for _, li := range all {
		byName[li.Name] = li
		switch {
		case li.Name == src:
			t.srcBlocked = writeBlocked(li)
		case len(li.Aliases) == 0 && x.versionOf(li.Name) > x.versionOf(src):
			orphans = append(orphans, li.Name)
		}
	}
	if t.srcBlocked && len(orphans) == 0 {
		return t, fmt.Errorf("%w: %s refuses writes (index.blocks.write) and no interrupted reindex left a newer index", ErrWriteBlocked, src)
	}
	t.name = x.Physical(max(x.Version, x.versionOf(src)+1))
	if li, ok := byName[t.name]; ok {
		if len(li.Aliases) > 0 {
			return t, fmt.Errorf("%w: %s already exists and has aliases", ErrTargetExists, t.name)
		}
		if blockers := p.indexDiff(x, f, li).blockers; len(blockers) > 0 {
			return t, fmt.Errorf("%w: %s exists without aliases (left by an interrupted reindex?) but differs from the definition (%s): delete it, then rerun",
				ErrTargetExists, t.name, summarize(blockers))
		}
		t.resume = true
	}
	return t, nil
}

// catchUpRounds copies what changed in src since marks until a round finds
// at most one batch of changes (or after maxCatchUpRounds), deletes from dst
// what was deleted from src, and runs one more round. It returns the
// checkpoints the next catch-up starts from.
func (p *Provisioner) catchUpRounds(ctx context.Context, src, dst string, marks map[int]int64, batch int, l *ledger, rep *ReindexReport) (map[int]int64, error) {
	round := func() (int64, error) {
		next, err := p.checkpoints(ctx, src)
		if err != nil {
			return 0, err
		}
		if err := p.b.refresh(ctx, src); err != nil {
			return 0, err
		}
		n, err := p.copyChanged(ctx, src, dst, marks, batch, l)
		if err != nil {
			return n, err
		}
		marks = next
		rep.CaughtUp += n
		rep.Rounds++
		return n, nil
	}
	for range maxCatchUpRounds {
		n, err := round()
		if err != nil {
			return nil, err
		}
		if n <= int64(batch) {
			break
		}
	}
	d, err := p.reconcile(ctx, src, dst, l, marks, false)
	rep.Deleted += d
	if err != nil {
		return nil, err
	}
	if _, err := round(); err != nil {
		return nil, err
	}
	return marks, nil
}

// errBlockBudget: the final catch-up ran over MaxWriteBlock and was undone.
var errBlockBudget = errors.New("write block bound exceeded")

// finalCatchUp blocks writes to src, brings dst level with the now frozen
// src, and moves both aliases to dst in one call. On any failure, and when
// the work runs over o.MaxWriteBlock (errBlockBudget), the block is lifted
// again and nothing is switched; on success src stays write-blocked.
func (p *Provisioner) finalCatchUp(ctx context.Context, x *Index, src, dst string, marks map[int]int64, l *ledger, o ReindexOptions, rep *ReindexReport) (err error) {
	start := time.Now()
	bctx, cancel := context.WithDeadline(ctx, start.Add(o.MaxWriteBlock))
	defer cancel()
	overBudget := func(err error) error {
		if bctx.Err() != nil && ctx.Err() == nil {
			return errBlockBudget
		}
		return err
	}
	switched := false
	defer func() {
		rep.WriteBlockMS = max(rep.WriteBlockMS, time.Since(start).Milliseconds())
		if !switched {
			// Writers must not stay locked out: lift the block on every way
			// out, Ctrl-C included (a block that was never set is no harm).
			if uerr := p.removeWriteBlock(context.WithoutCancel(ctx), src); uerr != nil {
				err = errors.Join(err, fmt.Errorf("%s still refuses writes: %w", src, uerr))
			}
		}
	}()
	// The block request is never cut short: a request abandoned by the
	// client still completes on the server, and would then set the block
	// after the unblock below.
	raw, err := p.b.addWriteBlock(context.WithoutCancel(ctx), src)
	if err != nil {
		return err
	}
	if err := bctx.Err(); err != nil {
		return overBudget(err)
	}
	var ack struct {
		Acknowledged       bool `json:"acknowledged"`
		ShardsAcknowledged bool `json:"shards_acknowledged"`
	}
	if err := jsonUnmarshal(raw, &ack); err != nil {
		return err
	}
	if !ack.Acknowledged || !ack.ShardsAcknowledged {
		// Without the shards' acknowledgement, writes in flight may still land.
		return fmt.Errorf("write block on %s not acknowledged by every shard: %.200s", src, raw)
	}
	lap := func(what string) {
		p.log.DebugContext(ctx, "final catch-up", "step", what, "ms", time.Since(start).Milliseconds())
	}
	lap("blocked")
	o.AfterStep(ctx, StepWriteBlocked)

	// src is frozen: everything above the checkpoints is the final delta.
	bound, err := p.checkpoints(bctx, src)
	if err != nil {
		return overBudget(err)
	}
	if err := p.b.refresh(bctx, src); err != nil {
		return overBudget(err)
	}
	n, err := p.copyChanged(bctx, src, dst, marks, o.BatchSize, l)
	rep.FinalDelta += n
	if err != nil {
		return overBudget(err)
	}
	rep.Rounds++
	lap("delta copied")
	d, err := p.reconcile(bctx, src, dst, l, bound, true)
	rep.Deleted += d
	if err != nil {
		return overBudget(err)
	}
	lap("reconciled")
	// Verify: the same number of documents on both sides. Together with the
	// ledger (every live document of src was copied at its last version),
	// that means the same documents.
	if err := p.b.refresh(bctx, dst); err != nil {
		return overBudget(err)
	}
	if rep.SourceCount, err = p.count(bctx, src); err != nil {
		return overBudget(err)
	}
	if rep.TargetCount, err = p.count(bctx, dst); err != nil {
		return overBudget(err)
	}
	if rep.TargetCount != rep.SourceCount {
		return fmt.Errorf("%w: %s has %d documents, %s %d after the final catch-up; readers and writers stay on %s",
			ErrVerifyFailed, src, rep.SourceCount, dst, rep.TargetCount, src)
	}
	lap("verified")
	if bctx.Err() != nil {
		return overBudget(bctx.Err())
	}
	if err := p.b.updateAliases(ctx, aliasBody([]aliasOp{
		{index: src, alias: x.ReadAlias()},
		{index: src, alias: x.WriteAlias()},
		{add: true, index: dst, alias: x.ReadAlias()},
		{add: true, index: dst, alias: x.WriteAlias(), write: true},
	})); err != nil {
		return fmt.Errorf("switch aliases: %w", err)
	}
	switched = true
	lap("switched")
	return nil
}

// joinSplit finishes a reindex whose write alias already moved to dst while
// readers still use src: documents dst never saw are copied with external
// version 1, which loses to any document or delete tombstone dst holds.
func (p *Provisioner) joinSplit(ctx context.Context, x *Index, src, dst string, o ReindexOptions, rep *ReindexReport) error {
	rep.To, rep.Resumed, rep.Method = dst, ResumedSplit, "client_scroll"
	p.log.WarnContext(ctx, "read and write aliases on different indices: copying what the write index never had", "from", src, "to", dst)
	// Nothing may write to src any more, and the deletes writers make on dst
	// during the copy must be remembered until it ends (index.gc_deletes).
	if _, err := p.b.addWriteBlock(ctx, src); err != nil {
		return fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	if err := p.b.putSettings(ctx, dst, []byte(`{"index":{"gc_deletes":"1d"}}`)); err != nil {
		return fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	defer func() {
		if err := p.b.putSettings(context.WithoutCancel(ctx), dst, []byte(`{"index":{"gc_deletes":null}}`)); err != nil {
			p.log.WarnContext(ctx, "could not reset index.gc_deletes", "index", dst, "err", err)
		}
	}()
	if err := p.b.refresh(ctx, src); err != nil {
		return err
	}
	total, err := p.count(ctx, src)
	if err != nil {
		return err
	}
	err = p.scrollAll(ctx, src, -1, map[string]any{"size": o.BatchSize, "sort": []any{"_doc"}, "query": map[string]any{"match_all": map[string]any{}}}, func(hits []hit) error {
		var buf bytes.Buffer
		for _, h := range hits {
			bulkLine(&buf, "index", h.meta(dst, map[string]any{"version": 1, "version_type": "external"}), h.Source)
		}
		c, k, err := p.runBulk(ctx, buf.Bytes(), 409)
		rep.Copied, rep.KeptNewer = rep.Copied+c, rep.KeptNewer+k
		p.copied(dst, rep.Copied+rep.KeptNewer, total, false)
		return err
	})
	p.copied(dst, rep.Copied+rep.KeptNewer, total, true)
	if err != nil {
		return fmt.Errorf("reindex %s: copy %s → %s: %w", x.Name, src, dst, err)
	}
	o.AfterStep(ctx, StepCopied)
	for _, ix := range []string{src, dst} {
		if err := p.b.refresh(ctx, ix); err != nil {
			return err
		}
	}
	if rep.SourceCount, err = p.count(ctx, src); err != nil {
		return err
	}
	if rep.TargetCount, err = p.count(ctx, dst); err != nil {
		return err
	}
	if err := p.b.updateAliases(ctx, aliasBody([]aliasOp{
		{index: src, alias: x.ReadAlias()},
		{add: true, index: dst, alias: x.ReadAlias()},
	})); err != nil {
		return fmt.Errorf("reindex %s: swap read alias: %w", x.Name, err)
	}
	o.AfterStep(ctx, StepSwitched)
	if !o.KeepOld {
		if err := p.b.deleteIndex(ctx, src); err != nil {
			return fmt.Errorf("reindex %s: delete old index: %w", x.Name, err)
		}
		rep.OldDeleted = true
	}
	return p.record(ctx, Record{Kind: "index", Name: x.Name, Version: x.Version, Checksum: x.Checksum, PhysicalIndex: dst})
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

// checkpoints returns, per shard of index, a sequence number at or below
// which every operation is searchable after the next refresh: the lowest
// local checkpoint over the shard's copies (a search may be served by any).
func (p *Provisioner) checkpoints(ctx context.Context, index string) (map[int]int64, error) {
	raw, err := p.b.shardStats(ctx, index)
	if err != nil {
		return nil, err
	}
	var st struct {
		Indices map[string]struct {
			Shards map[string][]struct {
				SeqNo *struct {
					LocalCheckpoint int64 `json:"local_checkpoint"`
				} `json:"seq_no"`
			} `json:"shards"`
		} `json:"indices"`
	}
	if err := jsonUnmarshal(raw, &st); err != nil {
		return nil, err
	}
	ix, ok := st.Indices[index]
	if !ok || len(ix.Shards) == 0 {
		return nil, fmt.Errorf("shard stats of %s: no shards in answer %.200s", index, raw)
	}
	out := map[int]int64{}
	for k, copies := range ix.Shards {
		shard, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("shard stats of %s: shard %q", index, k)
		}
		for _, c := range copies {
			if c.SeqNo == nil {
				return nil, fmt.Errorf("shard stats of %s: shard %d has no seq_no section", index, shard)
			}
			if cur, seen := out[shard]; !seen || c.SeqNo.LocalCheckpoint < cur {
				out[shard] = c.SeqNo.LocalCheckpoint
			}
		}
	}
	return out, nil
}

// writeBlocked reports whether an index has index.blocks.write set.
func writeBlocked(li liveIndex) bool {
	return flatSettings(li.Settings)["blocks.write"] == "true"
}

func (p *Provisioner) removeWriteBlock(ctx context.Context, index string) error {
	return p.b.putSettings(ctx, index, []byte(liftWriteBlock))
}

// liftWriteBlock is the settings body that removes index.blocks.write.
const liftWriteBlock = `{"index":{"blocks":{"write":null}}}`

// serverCopy runs _reindex as a task and polls it for progress.
func (p *Provisioner) serverCopy(ctx context.Context, src, dst string, total int64, batch int) (copied int64, err error) {
	body, _ := json.Marshal(map[string]any{
		"source": map[string]any{"index": src, "size": batch},
		"dest":   map[string]any{"index": dst},
	})
	id, err := p.b.reindex(ctx, body)
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done { // Ctrl-C or a lost answer: the task must not go on writing on its own
			if cerr := p.b.cancelTask(context.WithoutCancel(ctx), id); cerr != nil && !errors.Is(cerr, ErrNotFound) {
				err = errors.Join(err, fmt.Errorf("server copy %s may still be running: %w", id, cerr))
			}
		}
	}()
	for {
		raw, err := p.b.task(ctx, id)
		if err != nil {
			return copied, err
		}
		var t struct {
			Completed bool `json:"completed"`
			Task      struct {
				Status struct {
					Total   int64 `json:"total"`
					Created int64 `json:"created"`
					Updated int64 `json:"updated"`
				} `json:"status"`
			} `json:"task"`
			Response struct {
				Failures []json.RawMessage `json:"failures"`
			} `json:"response"`
			Error json.RawMessage `json:"error"`
		}
		if err := jsonUnmarshal(raw, &t); err != nil {
			return copied, err
		}
		s := t.Task.Status
		copied = s.Created + s.Updated
		p.copied(dst, copied, max(s.Total, total), false)
		if t.Completed {
			done = true
			if len(t.Error) > 0 {
				return copied, fmt.Errorf("reindex task %s: %s", id, t.Error)
			}
			if len(t.Response.Failures) > 0 {
				return copied, fmt.Errorf("reindex task %s: %d failures, first: %.300s", id, len(t.Response.Failures), t.Response.Failures[0])
			}
			return copied, nil
		}
		select {
		case <-ctx.Done():
			return copied, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stopServerCopies cancels every running _reindex task that writes into
// dst: left by an interrupted run, it would go on writing old versions over
// the catch-up's newer ones.
func (p *Provisioner) stopServerCopies(ctx context.Context, dst string) error {
	raw, err := p.b.reindexTasks(ctx)
	if err != nil {
		return err
	}
	var list struct {
		Nodes map[string]struct {
			Tasks map[string]struct {
				Description string `json:"description"`
			} `json:"tasks"`
		} `json:"nodes"`
	}
	if err := jsonUnmarshal(raw, &list); err != nil {
		return err
	}
	for _, n := range list.Nodes {
		for id, t := range n.Tasks {
			if !strings.HasSuffix(t.Description, " to ["+dst+"]") {
				continue
			}
			p.log.WarnContext(ctx, "cancelling a server copy an interrupted run left", "index", dst, "task", id)
			if err := p.b.cancelTask(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("cancel %s (%s): %w", id, t.Description, err)
			}
		}
	}
	return nil
}

// searchPages is scrollAll for queries that usually match little (catch-up
// rounds, buckets to check): a plain search first, and a scroll only when
// the answer fills the page. Under the write block each round trip counts.
func (p *Provisioner) searchPages(ctx context.Context, index string, shard int, body map[string]any, fn func([]hit) error) error {
	size, _ := body["size"].(int)
	b, _ := json.Marshal(body)
	var raw []byte
	var err error
	if shard >= 0 {
		raw, err = p.b.searchShard(ctx, index, shard, b, 0)
	} else {
		raw, err = p.b.search(ctx, index, b, 0)
	}
	if err != nil {
		return err
	}
	var res searchResult
	if err := jsonUnmarshal(raw, &res); err != nil {
		return err
	}
	if len(res.Hits.Hits) < size {
		if len(res.Hits.Hits) == 0 {
			return nil
		}
		return fn(res.Hits.Hits)
	}
	return p.scrollAll(ctx, index, shard, body, fn)
}

// scrollAll pages through index (one shard of it when shard >= 0) with a
// scroll (a consistent snapshot) and calls fn per page.
func (p *Provisioner) scrollAll(ctx context.Context, index string, shard int, body map[string]any, fn func([]hit) error) error {
	b, _ := json.Marshal(body)
	const keep = 2 * time.Minute
	var raw []byte
	var err error
	if shard >= 0 {
		raw, err = p.b.searchShard(ctx, index, shard, b, keep)
	} else {
		raw, err = p.b.search(ctx, index, b, keep)
	}
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

// meta is the bulk action metadata that writes h into index, with its
// routing and any extra keys.
func (h hit) meta(index string, extra map[string]any) map[string]any {
	m := map[string]any{"_index": index, "_id": h.ID}
	if h.Routing != nil {
		m["routing"] = *h.Routing
	}
	maps.Copy(m, extra)
	return m
}

func bulkLine(buf *bytes.Buffer, op string, meta map[string]any, source json.RawMessage) {
	m, _ := json.Marshal(map[string]any{op: meta})
	buf.Write(m)
	buf.WriteByte('\n')
	buf.Write(bytes.TrimSpace(source))
	buf.WriteByte('\n')
}

// runBulk sends one bulk request and counts the documents written. An item
// whose status is in skip (409 for the split-aliases copy: the target holds a
// newer write, which is the point; 404 for a delete: already gone) is
// counted as skipped; any other error fails.
func (p *Provisioner) runBulk(ctx context.Context, body []byte, skip ...int) (done, skipped int64, err error) {
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
			case slices.Contains(skip, r.Status):
				skipped++
			default:
				reason := string(r.Error)
				var e struct {
					Type   string `json:"type"`
					Reason string `json:"reason"`
				}
				if json.Unmarshal(r.Error, &e) == nil && e.Reason != "" {
					reason = e.Type + ": " + e.Reason
				}
				return done, skipped, fmt.Errorf("bulk: document %s: HTTP %d: %s", r.ID, r.Status, reason)
			}
		}
	}
	return done, skipped, nil
}

type bulkItemResult struct {
	ID     string          `json:"_id"`
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// copied reports the bulk copy into dst: documents written out of total (0
// when unknown); end marks its last report.
func (p *Provisioner) copied(dst string, done, total int64, end bool) {
	p.prog.Report(progress.Event{Phase: "copy", Subject: dst, Unit: progress.Documents, Done: done, Total: total, End: end})
}

// planReindex is Reindex's dry run: the same checks, read-only.
func (p *Provisioner) planReindex(ctx context.Context, x *Index, f *features, readIdx []string, writeIdx string) (ReindexReport, error) {
	rep := ReindexReport{Index: x.Name, DryRun: true}
	if x.TimeBased {
		rep.From, rep.Method = writeIdx, "cutover"
		rep.To = x.Physical(max(x.Version, x.versionOf(writeIdx)+1))
		all, err := p.getIndices(ctx, x.Pattern())
		if err != nil {
			return rep, err
		}
		for _, li := range all {
			if li.Name == rep.To {
				return rep, fmt.Errorf("reindex %s: %w: %s already exists", x.Name, ErrTargetExists, rep.To)
			}
		}
		return rep, nil
	}
	if len(readIdx) != 1 {
		return rep, fmt.Errorf("reindex %s: %s points at %d indices, want 1", x.Name, x.ReadAlias(), len(readIdx))
	}
	src := readIdx[0]
	rep.From = src
	var err error
	if writeIdx != src {
		if x.versionOf(writeIdx) <= x.versionOf(src) {
			return rep, fmt.Errorf("reindex %s: %w: readers on %s, writers on the older %s", x.Name, ErrSplitAliases, src, writeIdx)
		}
		rep.To, rep.Resumed, rep.Method = writeIdx, ResumedSplit, "client_scroll"
		rep.SourceCount, err = p.count(ctx, src)
		return rep, err
	}
	t, err := p.inspectTarget(ctx, x, f, src)
	if err != nil {
		return rep, fmt.Errorf("reindex %s: %w", x.Name, err)
	}
	rep.To, rep.Method = t.name, "copy"
	if t.resume {
		rep.Resumed = ResumedInterrupted
	}
	rep.SourceCount, err = p.count(ctx, src)
	return rep, err
}
