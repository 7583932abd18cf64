package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

// backupInfoResult is the result of 'backup info'.
type backupInfoResult struct {
	backup.Info
	// PhysicalError is why the physical sets could not be read (they are then missing from the
	// groups, and the command exits 1).
	PhysicalError string `json:"physical_error,omitempty"`
}

func newBackupInfoCmd(d *deps) *cobra.Command {
	var f backupFilter
	cmd := &cobra.Command{
		Use:   "info [--kind KIND] [--database DATABASE]",
		Short: "Summarise the backups per kind and database: count, newest, oldest, size, last verification",
		Long: `info is to the catalogue what 'pgbackrest info' is to a stanza: for each kind
and database, how many backups there are, the newest and the oldest (with
their age), the bytes they store, and the last recorded verification of any
of them ('backup verify', 'restore postgres --verify'; "never" when none).
Physical sets (pgBackRest, when 'wal setup' configured them here) are grouped
by stanza, with pgBackRest's repository size; if they cannot be read, the
logical ones are shown and the command exits 1.

With -o json sizes are bytes and ages seconds (age_seconds, from checked_at).
--kind and --database filter as in 'backup list'.`,
		Example: `  quantx-db backup info
  quantx-db backup info --database quantx -o json | jq '.groups[] | {kind, age: .newest.age_seconds}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			sel, err := f.selector()
			if err != nil {
				return err
			}
			cat, _, err := d.openCatalogue(ctx, nil)
			if err != nil {
				return err
			}
			var res backupInfoResult
			var phys []backup.Manifest
			var physErr error
			if p, cfg, err := d.physical(""); err == nil && physicalConfigured(cfg) && wantsPhysical(sel) {
				if phys, err = p.List(ctx); err != nil {
					physErr = within(scopePhysical, err)
					res.PhysicalError = err.Error()
				}
			}
			if res.Info, err = cat.Info(ctx, sel, phys...); err != nil {
				return err
			}
			d.metrics.backupInfo(res.Info)
			if err := d.render(res, func() output.Table { return backupInfoTable(res, sel) }); err != nil {
				return err
			}
			return physErr
		},
	}
	f.add(cmd)
	return cmd
}

func backupInfoTable(res backupInfoResult, sel backup.Selector) output.Table {
	t := output.Table{Header: []string{"KIND", "DATABASE", "COUNT", "NEWEST", "FINISHED", "AGE", "OLDEST", "SIZE", "LAST VERIFICATION"}}
	for _, g := range res.Groups {
		t.Rows = append(t.Rows, []string{string(g.Kind), g.Database, fmt.Sprint(g.Count), g.Newest.ID, output.Time(g.Newest.FinishedAt),
			ageString(g.Newest.AgeSeconds), g.Oldest.ID, output.Bytes(g.TotalBytes), verificationCell(g)})
	}
	if len(res.Groups) == 0 {
		t.Notes = []string{"no backups" + selection(sel)}
	}
	for _, g := range res.Groups {
		if v := g.LastVerification; v != nil && !v.OK && len(v.Problems) > 0 {
			t.Notes = append(t.Notes, fmt.Sprintf("%s failed its %s verification: %s", v.ID, v.Method, v.Problems[0]))
		}
	}
	if res.PhysicalError != "" {
		t.Notes = append(t.Notes, "physical backups not read: "+res.PhysicalError)
	}
	t.Notes = append(t.Notes, "checked at "+output.Time(res.CheckedAt))
	return t
}

// verificationCell is "ok (objects) 2026-11-30T10:00:00Z", "FAILED (restore) ...", "never" or "-"
// (physical sets, which quantx-db does not verify).
func verificationCell(g backup.Group) string {
	v := g.LastVerification
	switch {
	case v == nil && g.Kind == backup.KindPhysical:
		return "-"
	case v == nil:
		return "never"
	case v.OK:
		return fmt.Sprintf("ok (%s) %s", v.Method, output.Time(v.CheckedAt))
	}
	return fmt.Sprintf("FAILED (%s) %s", v.Method, output.Time(v.CheckedAt))
}
