package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/stack"
)

// walCheck is the 'wal archiving' line of status: skipped when no pgBackRest configuration is here.
func (d *deps) walCheck() func(ctx context.Context) (stack.StatusItem, error) {
	return func(ctx context.Context) (stack.StatusItem, error) {
		it := stack.StatusItem{Store: stack.Postgres, Check: "wal archiving"}
		p, cfg, err := d.physical("")
		if err != nil {
			return it, err
		}
		if !physicalConfigured(cfg) {
			it.State, it.Detail = stack.StateSkipped, "no pgBackRest configuration at "+cfg.PgBackRestConfig+" (see 'quantx-db wal setup')"
			return it, nil
		}
		o := backup.WALStatusOptions{}
		if cfg.DatabaseURL != "" {
			o.DatabaseURL = cfg.DatabaseURL.Reveal()
		}
		st, err := p.WALStatus(ctx, o)
		switch {
		case errors.Is(err, fs.ErrPermission):
			it.State, it.Detail = stack.StateWarn, err.Error()+": run status as the data directory's owner to include WAL archiving"
			return it, nil
		case err != nil:
			return it, err
		}
		return walItem(st), nil
	}
}

// walItem condenses a WAL status into one status line.
func walItem(st backup.WALStatus) stack.StatusItem {
	it := stack.StatusItem{Store: stack.Postgres, Check: "wal archiving", State: stack.StateOK}
	var parts []string
	if st.LastArchivedAgeSeconds != nil {
		parts = append(parts, fmt.Sprintf("last archived %s ago", ageString(*st.LastArchivedAgeSeconds)))
	}
	if st.NewestBackup != nil {
		parts = append(parts, fmt.Sprintf("newest physical backup %s, %s old", st.NewestBackup.ID, ageString(st.NewestBackup.AgeSeconds)))
	}
	if st.Window != nil {
		parts = append(parts, "window "+st.Window.String())
	}
	it.Detail = strings.Join(parts, "; ")
	switch {
	case len(st.Problems) > 0:
		it.State, it.Detail = stack.StateAction, st.Problems[0]+"; run 'quantx-db wal status'"
	case len(st.Warnings) > 0:
		it.State = stack.StateWarn
		it.Detail = strings.TrimPrefix(it.Detail+"; "+st.Warnings[0], "; ")
	}
	return it
}

// walDoctor checks pgBackRest and WAL archiving when they are set up here.
func (d *deps) walDoctor() func(ctx context.Context) []stack.Check {
	return func(ctx context.Context) []stack.Check {
		p, cfg, err := d.physical("")
		if err != nil || !physicalConfigured(cfg) {
			return nil
		}
		var out []stack.Check
		if path, err := exec.LookPath("pgbackrest"); err != nil {
			out = append(out, stack.Check{Store: "tools", Name: "pgbackrest", Status: stack.Fail, Detail: "pgbackrest is not on PATH",
				Fix: "apt-get install pgbackrest: archive_command and physical backups run it"})
		} else {
			out = append(out, stack.Check{Store: "tools", Name: "pgbackrest", Status: stack.OK, Detail: path})
		}
		o := backup.WALStatusOptions{}
		if cfg.DatabaseURL != "" {
			o.DatabaseURL = cfg.DatabaseURL.Reveal()
		}
		st, err := p.WALStatus(ctx, o)
		switch {
		case err != nil:
			return append(out, stack.Check{Store: stack.Postgres, Name: "wal archiving", Status: stack.Fail, Detail: err.Error(),
				Fix: "run doctor as the data directory's owner, or fix --pgbackrest-config / --stanza"})
		case len(st.Problems) > 0:
			return append(out, stack.Check{Store: stack.Postgres, Name: "wal archiving", Status: stack.Fail,
				Detail: strings.Join(st.Problems, "; "), Fix: walHint(st) + "; details: 'quantx-db wal status'"})
		case st.NewestBackup == nil:
			return append(out, stack.Check{Store: stack.Postgres, Name: "wal archiving", Status: stack.Warn,
				Detail: "archiving works, but there is no physical backup to restore from", Fix: "quantx-db backup physical --type full"})
		}
		return append(out, stack.Check{Store: stack.Postgres, Name: "wal archiving", Status: stack.OK, Detail: walItem(st).Detail})
	}
}
