package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/partitions"
)

func newPartitionsEnsureCmd(d *deps, f *maintenanceFlags) *cobra.Command {
	var ahead, back int
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "ensure",
		Short: "Create the monthly activity_logs partitions and verify the hash partitions",
		Long: `Creates activity_logs_yYYYYmMM for the current UTC month through --months-ahead
months after it (and --months-back before it). Rows already in the DEFAULT
partition for such a month are moved into the new partition in the same short
transaction; no concurrent insert fails. A second run changes nothing and says so.

Also checks that every remainder of each hash-partitioned table (transactions)
exists: a missing one exits 3.

--dry-run prints the months it would create and the rows it would move out of
DEFAULT, changes nothing and takes no lock; it fails as the real run would
(drift, a table that is not partitioned, a role that may not create the
partitions: exit 1; a missing hash partition: exit 3).`,
		Example: `  # nightly from cron
  quantx-db partitions ensure
  quantx-db partitions ensure --months-ahead 6 --months-back 2 -o json
  quantx-db partitions ensure --months-ahead 12 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ahead < 0 || back < 0 {
				return usagef("give a number of months, 0 or more", "--months-ahead and --months-back must not be negative")
			}
			m, pool, err := d.openPartitions(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer pool.Close()
			eo := partitions.EnsureOptions{MonthsAhead: ahead, MonthsBack: back, DryRun: dryRun}
			if ahead == 0 {
				eo.MonthsAhead = -1 // the library's 0 means "default"
			}
			rep, err := m.Ensure(cmd.Context(), eo)
			if err != nil {
				if errors.Is(err, partitions.ErrWouldFail) { // the plan, then why the real run would fail
					_ = d.render(rep, func() output.Table { return ensureTable(rep) })
				}
				return err
			}
			d.metrics.partitionsEnsure(rep)
			if err := d.render(rep, func() output.Table { return ensureTable(rep) }); err != nil {
				return err
			}
			if !rep.HashOK {
				var bad []string
				for _, h := range rep.Hash {
					if !h.OK {
						bad = append(bad, h.String())
					}
				}
				return checkFailed(strings.Join(bad, "; "), "create the missing hash partitions (CREATE TABLE ... PARTITION OF ... FOR VALUES WITH (MODULUS m, REMAINDER r))")
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&ahead, "months-ahead", 3, "months after the current UTC month to premake")
	cmd.Flags().IntVar(&back, "months-back", 0, "months before the current UTC month to make (to rescue rows in DEFAULT)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be created and moved; change nothing")
	return cmd
}

func ensureTable(rep partitions.EnsureReport) output.Table {
	t := output.Table{Header: []string{"MONTH", "PARTITION", "ACTION", "ROWS_MOVED", "DURATION"}}
	for _, m := range rep.Months {
		name := m.Partition
		if m.CoveredBy != "" && m.CoveredBy != m.Partition {
			name = m.CoveredBy + " (covers " + m.Partition + ")"
		}
		t.Rows = append(t.Rows, []string{m.From.Format("2006-01"), name, m.Action, fmt.Sprint(m.RowsMoved), fmt.Sprintf("%dms", m.DurationMS)})
	}
	switch {
	case rep.DryRun && rep.Changed:
		t.Notes = append(t.Notes, fmt.Sprintf("dry run: would create %d partition(s) (%d already exist) and move %d row(s) out of DEFAULT; nothing was changed", len(rep.Created), len(rep.Existing), rep.RowsMoved))
	case rep.Changed:
		t.Notes = append(t.Notes, fmt.Sprintf("created %d partition(s), %d already existed; moved %d row(s) out of DEFAULT", len(rep.Created), len(rep.Existing), rep.RowsMoved))
	default:
		t.Notes = append(t.Notes, fmt.Sprintf("nothing to do: all %d partition(s) already exist", len(rep.Existing)))
	}
	if rep.DefaultRows > 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("warning: %s still holds %d row(s) for months outside this window (see 'partitions list'; --months-back moves past ones)", partitions.DefaultPartition, rep.DefaultRows))
	}
	for _, h := range rep.Hash {
		prefix := "ok: "
		if !h.OK {
			prefix = "error: "
		}
		t.Notes = append(t.Notes, prefix+h.String())
	}
	return t
}
