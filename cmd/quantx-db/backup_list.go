package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

// backupList is the result of 'backup list'.
type backupList struct {
	Backups []backup.Manifest `json:"backups"`
	// PhysicalError is why physical backups could not be listed (they are then missing from Backups,
	// and the command exits 1).
	PhysicalError string `json:"physical_error,omitempty"`
}

// backupFilter is the --kind and --database of list and info.
type backupFilter struct{ kind, database string }

func (f *backupFilter) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kind, "kind", "", "only backups of this `KIND`: postgres, influx or physical")
	cmd.Flags().StringVar(&f.database, "database", "", "only backups of this `DATABASE` (for physical sets: the stanza)")
}

// selector validates --kind (exit 2 naming the kinds).
func (f backupFilter) selector() (backup.Selector, error) {
	k, err := parseKindFlag(f.kind)
	return backup.Selector{Kind: k, Database: f.database}, err
}

// wantsLogical and wantsPhysical say which catalogues a selector needs read.
func wantsLogical(s backup.Selector) bool  { return s.Kind != backup.KindPhysical }
func wantsPhysical(s backup.Selector) bool { return s.Kind == "" || s.Kind == backup.KindPhysical }

func newBackupListCmd(d *deps) *cobra.Command {
	var f backupFilter
	cmd := &cobra.Command{
		Use:   "list [--kind KIND] [--database DATABASE]",
		Short: "List backups that have a manifest, and physical backups, newest first",
		Long: `Lists the logical backups (those with a manifest.json) and, when the pgBackRest
configuration of 'wal setup' exists here (--pgbackrest-config), the physical
backup sets of --stanza: kind physical, with the WAL range each one needs.
Reading the physical sets needs that file, readable by the data directory's
owner only; if they cannot be read, the logical ones are listed and the
command exits 1.

--kind (postgres, influx or physical; another word exits 2) and --database
(the database a backup was taken of; for physical sets the stanza) filter the
list. 'backup info' summarises it per kind and database.`,
		Example: `  quantx-db backup list
  quantx-db backup list --kind postgres --database quantx
  quantx-db backup list -o json | jq -r '.backups[0].id'
  quantx-db backup list --kind physical -o json | jq '.backups[] | .physical'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sel, err := f.selector()
			if err != nil {
				return err
			}
			cat, _, err := d.openCatalogue(cmd.Context(), nil)
			if err != nil {
				return err
			}
			res := backupList{Backups: []backup.Manifest{}}
			var all []backup.Manifest // unfiltered, to name the databases that have backups
			if wantsLogical(sel) {
				if all, err = cat.List(cmd.Context()); err != nil {
					return err
				}
			}
			var physErr error
			if p, cfg, err := d.physical(""); err == nil && physicalConfigured(cfg) && wantsPhysical(sel) {
				phys, err := p.List(cmd.Context())
				if err != nil {
					physErr = within(scopePhysical, err)
					res.PhysicalError = err.Error()
				}
				all = append(all, phys...)
				backup.SortNewestFirst(all)
			}
			res.Backups = backup.Select(all, sel)
			d.metrics.backups(res.Backups...)
			if err := d.render(res, func() output.Table { return backupListTable(res, all, sel) }); err != nil {
				return err
			}
			return physErr
		},
	}
	f.add(cmd)
	return cmd
}

func backupListTable(res backupList, all []backup.Manifest, sel backup.Selector) output.Table {
	t := output.Table{Header: []string{"ID", "KIND", "DATABASE", "FINISHED", "SIZE", "ENCRYPTION", "WAL"}}
	for _, m := range res.Backups {
		kind := string(m.Kind)
		if m.Physical != nil {
			kind += " " + m.Physical.Type
		}
		t.Rows = append(t.Rows, []string{m.ID, kind, m.Database, output.Time(m.FinishedAt), output.Bytes(m.Size), m.Encryption, walRange(m)})
	}
	if len(res.Backups) == 0 {
		t.Notes = []string{"no backups" + selection(sel)}
		if others := backup.Databases(backup.Select(all, backup.Selector{Kind: sel.Kind}), ""); sel.Database != "" && len(others) > 0 {
			t.Notes[0] += "; backups exist for " + strings.Join(others, ", ")
		}
	}
	if res.PhysicalError != "" {
		t.Notes = append(t.Notes, "physical backups not listed: "+res.PhysicalError)
	}
	return t
}

// selection describes a selector for notes: " of kind postgres of database quantx".
func selection(s backup.Selector) string {
	var out string
	if s.Kind != "" {
		out += fmt.Sprintf(" of kind %s", s.Kind)
	}
	if s.Database != "" {
		out += fmt.Sprintf(" of database %s", s.Database)
	}
	return out
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
