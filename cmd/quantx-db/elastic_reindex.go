package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/output"
)

func newElasticReindexCmd(d *deps, f *elasticFlags) *cobra.Command {
	var o elastic.ReindexOptions
	cmd := &cobra.Command{
		Use:   "reindex INDEX",
		Short: "Move a logical index to a new physical version without losing writes",
		Long: `Create INDEX-vN+1 from the current definition and copy the documents into it
(server _reindex where available, else scroll + bulk) while readers and writers
keep using the old index. Then catch up in rounds: documents written since
(found by _seq_no) are copied again, deleted ones are deleted. Last, block
writes to the old index for the final catch-up (at most --max-write-block),
verify both indices hold the same documents, and move the read and the write
alias in one atomic call. The old index is deleted unless --keep-old (it is
then kept write-blocked).

Guarantee: with an application indexing, updating and deleting through the
write alias meanwhile, the read alias afterwards holds exactly the
application's final state. During the final catch-up writes are refused with
HTTP 403 (cluster_block_exception): writers retry them, as any refused write.

Rerunning after an interruption (Ctrl-C, kill, lost connection) finishes the
job: 'elastic status' reports such an index as reindex_interrupted.

INDEX is a logical name: instruments, documents or activity. A time-based index
(activity) is not copied: its write alias moves to a new version and the old
generations age out through retention.

--dry-run changes nothing: it prints the index the documents would move from
and to, how many, and whether an interrupted reindex would be resumed, and
exits with the code the reindex would exit with before copying (not set up,
aliases it cannot join, a write block, a target index in the way).`,
		Example: `  quantx-db elastic reindex instruments --keep-old
  quantx-db elastic reindex instruments --yes -o json
  quantx-db elastic reindex instruments --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := d.elasticProvisioner(ctx, f, d.progress())
			if err != nil {
				return err
			}
			x, err := p.Defs().Index(args[0])
			if err != nil {
				return err
			}
			if !o.DryRun && !o.KeepOld && !x.TimeBased && !d.confirm(ctx, fmt.Sprintf("reindex %s and delete its old physical index?", x.Base)) {
				return usagef("re-run with --yes, or with --keep-old to keep the old index", "refused to delete the old index of %s without confirmation", x.Name)
			}
			rep, err := p.Reindex(ctx, args[0], o)
			if rep.To != "" {
				if rerr := d.render(rep, func() output.Table { return elasticReindexTable(rep) }); rerr != nil {
					return rerr
				}
			}
			return err
		},
	}
	yesFlag(cmd, d)
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print what would be copied where; change nothing")
	cmd.Flags().BoolVar(&o.KeepOld, "keep-old", false, "keep the old physical index (no confirmation needed)")
	cmd.Flags().IntVar(&o.BatchSize, "batch-size", 1000, "documents per scroll page and bulk request")
	cmd.Flags().DurationVar(&o.MaxWriteBlock, "max-write-block", 5*time.Second, "longest time writes may be refused during the final catch-up (over it: writes resume, one retry, then give up)")
	return cmd
}

func elasticReindexTable(r elastic.ReindexReport) output.Table {
	if r.DryRun {
		t := output.Table{Header: []string{"INDEX", "FROM", "TO", "METHOD", "DOCUMENTS"}}
		t.Rows = append(t.Rows, []string{r.Index, r.From, r.To, r.Method, fmt.Sprint(r.SourceCount)})
		switch r.Resumed {
		case elastic.ResumedInterrupted:
			t.Notes = append(t.Notes, "would resume the reindex an interrupted run left in "+r.To)
		case elastic.ResumedSplit:
			t.Notes = append(t.Notes, "would join split aliases: copy what "+r.To+" never had from "+r.From)
		}
		t.Notes = append(t.Notes, "dry run: nothing was changed")
		return t
	}
	t := output.Table{Header: []string{"INDEX", "FROM", "TO", "METHOD", "COPIED", "CAUGHT UP", "DELETED", "SOURCE", "TARGET", "WRITE BLOCK"}}
	block := "-"
	if r.WriteBlockAttempts > 0 {
		block = fmt.Sprintf("%d ms", r.WriteBlockMS)
	}
	t.Rows = append(t.Rows, []string{r.Index, r.From, r.To, r.Method, fmt.Sprint(r.Copied), fmt.Sprint(r.CaughtUp), fmt.Sprint(r.Deleted),
		fmt.Sprint(r.SourceCount), fmt.Sprint(r.TargetCount), block})
	switch r.Resumed {
	case elastic.ResumedInterrupted:
		t.Notes = append(t.Notes, "resumed the reindex an interrupted run left")
	case elastic.ResumedSplit:
		t.Notes = append(t.Notes, fmt.Sprintf("joined split aliases: %d documents the write index never had copied, %d written or deleted through the write alias kept", r.Copied, r.KeptNewer))
	}
	old := "kept (write-blocked)"
	if r.OldDeleted {
		old = "deleted"
	}
	t.Notes = append(t.Notes, fmt.Sprintf("aliases point at %s; old index %s %s (%d ms)", r.To, r.From, old, r.DurationMS))
	return t
}
