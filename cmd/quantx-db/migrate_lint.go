package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/golang-migrate/migrate/v4/source"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/migrations/lint"
)

type migrateLintOptions struct {
	pending          bool
	since            string
	warningsAsErrors bool
	disable          []string
	noStyle          bool
	listRules        bool
}

func newMigrateLintCmd(d *deps, f *migrateFlags) *cobra.Command {
	var o migrateLintOptions
	cmd := &cobra.Command{
		Use:   "lint [FILES...]",
		Short: "Report migrations that lock or rewrite busy tables (exit 3 on errors)",
		Long: `lint parses migration files with PostgreSQL's own grammar and reports statements
that lock or rewrite tables that already hold data (index builds without
CONCURRENTLY, volatile defaults, type changes, constraints validated under lock),
that break code still running against the old schema (drops, renames), or that
fail in the way quantx-db runs a file. Tables, indexes and types created in the
same file are exempt: nothing can be waiting on them.

Without FILES it checks the up files of --source, or of the embedded set; with
--pending only those not yet applied to --database-url; with --since VERSION
only those after VERSION. Earlier files are still read, so that a later file's
VALIDATE or SET NOT NULL is judged against what they created. A FILE inside a
migrations folder is read the same way, after that folder's earlier files.

Each finding has a rule id, a severity, file:line, the reason and the safe
alternative. Errors exit 3; warnings (style rules) only with
--warnings-as-errors. Silence a finding that is intended with a comment line
directly above the statement, or in the file header followed by a blank line
for the whole file (the reason is required):

  -- quantx:lint-ignore ban-drop-column no release reads it since 4.2 (OPS-118)

The config file can turn rules off: lint: {style: false, disable: [rule-id]}.
'quantx-db migrate lint --rules' lists the rules and the squawk and Atlas
checks each one corresponds to.`,
		Example: `  quantx-db migrate lint
  quantx-db migrate lint --source db/migrations --since 41 -o sarif > lint.sarif
  quantx-db migrate lint --pending --warnings-as-errors
  quantx-db migrate lint db/migrations/0042_orders_note.up.sql`,
		Annotations: map[string]string{annotFormats: string(output.FormatSARIF)},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMigrateLint(cmd.Context(), d, f, o, cmd.Flags().Changed("no-style"), args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.pending, "pending", false, "check only the migrations not yet applied to --database-url")
	fl.StringVar(&o.since, "since", "", "check only the migrations after `VERSION`")
	fl.BoolVar(&o.warningsAsErrors, "warnings-as-errors", false, "exit 3 on warnings (style rules) too")
	fl.StringSliceVar(&o.disable, "disable", nil, "do not report these rule `ids` (adds to the config file's lint.disable)")
	fl.BoolVar(&o.noStyle, "no-style", false, "do not report style warnings (also lint.style: false in the config file)")
	fl.BoolVar(&o.listRules, "rules", false, "list the rules and exit")
	return cmd
}

func runMigrateLint(ctx context.Context, d *deps, f *migrateFlags, o migrateLintOptions, noStyleSet bool, args []string) error {
	if o.listRules {
		return renderRules(d)
	}
	switch {
	case o.pending && o.since != "":
		return usagef("use one of them", "--pending and --since cannot be combined")
	case (o.pending || o.since != "") && len(args) > 0:
		return usagef("give FILES, or select from --source with --pending / --since", "FILES cannot be combined with --pending or --since")
	}
	cfg, err := d.config()
	if err != nil {
		return err
	}
	opts := lint.Options{Disable: slices.Concat(cfg.Lint.Disable, o.disable)}
	switch {
	case noStyleSet: // the flag wins over the config file, either way
		opts.NoStyle = o.noStyle
	case cfg.Lint.Style != nil:
		opts.NoStyle = !*cfg.Lint.Style
	}
	var files []lint.File
	if len(args) > 0 {
		files, err = lintArgs(args)
	} else {
		files, err = lintSource(ctx, d, f, o)
	}
	if err != nil {
		return err
	}
	res, err := lint.Check(files, opts)
	if errors.Is(err, lint.ErrUnknownRule) {
		return usageErr(err, "see 'quantx-db migrate lint --rules' (check --disable and the config file's lint.disable)")
	}
	if err != nil {
		return err
	}
	if d.format == output.FormatSARIF {
		d.rendered = true
		if err := output.JSON(d.streams.Out, sarifLog(res)); err != nil {
			return err
		}
	} else if err := d.render(res, func() output.Table { return lintView(res) }); err != nil {
		return err
	}
	if res.Errors > 0 || (o.warningsAsErrors && res.Warnings > 0) {
		return checkFailed(fmt.Sprintf("migrate lint: %d error(s), %d warning(s)", res.Errors, res.Warnings),
			"fix them as each finding says, or add '-- quantx:lint-ignore RULE-ID reason' where the change is intended")
	}
	return nil
}

// lintSource reads the up files of --source (or the embedded set) in version
// order; --pending and --since choose which ones are reported.
func lintSource(ctx context.Context, d *deps, f *migrateFlags, o migrateLintOptions) ([]lint.File, error) {
	src, prefix, err := f.sourceFS()
	if err != nil {
		return nil, err
	}
	ms, err := migrations.Load(src)
	if err != nil {
		return nil, usageErr(err, "fix the migration file names (NNNN_name.up.sql / .down.sql)")
	}
	report := func(*migrations.Migration) bool { return true }
	switch {
	case o.since != "":
		v, err := parseVersion(o.since)
		if err != nil {
			return nil, err
		}
		report = func(m *migrations.Migration) bool { return int64(m.Version) > v }
	case o.pending:
		applied := map[uint64]bool{}
		err := d.withRunner(ctx, f, func(r *migrations.Runner) error {
			st, err := r.Status(ctx)
			for _, m := range st.Migrations {
				applied[m.Version] = m.Applied
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		report = func(m *migrations.Migration) bool { return !applied[m.Version] }
	}
	files := make([]lint.File, 0, len(ms))
	for _, m := range ms {
		files = append(files, lint.File{Name: filepath.Join(prefix, m.Up.Path), Version: m.Version, SQL: m.Up.SQL,
			NoTransaction: m.Up.NoTransaction, Report: report(m)})
	}
	return files, nil
}

// lintArgs reads the files given on the command line. A file named like a
// migration is read after the earlier up files of its folder (context only);
// other files are read on their own.
func lintArgs(args []string) ([]lint.File, error) {
	type entry struct {
		file lint.File
		down bool
	}
	var ordered []entry
	var loose []lint.File
	contextOf := map[string][]*migrations.Migration{} // folder -> its migrations
	for _, p := range args {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, usageErr(err, "give paths of .sql files")
		}
		sql := string(b)
		m, perr := source.Parse(filepath.Base(p))
		if perr != nil {
			loose = append(loose, lint.File{Name: p, SQL: sql, Report: true,
				NoTransaction: strings.HasPrefix(strings.TrimLeft(sql, "\ufeff"), migrations.NoTransactionDirective)})
			continue
		}
		down := m.Direction == source.Down
		dir := filepath.Dir(p)
		if _, ok := contextOf[dir]; !ok {
			ms, err := migrations.Load(os.DirFS(dir))
			if err != nil {
				ms = nil // not a clean migrations folder: lint the file on its own
			}
			contextOf[dir] = ms
		}
		var f *migrations.File
		for _, cm := range contextOf[dir] {
			if cm.Version == uint64(m.Version) {
				f = cm.Up
				if down {
					f = cm.Down
				}
			}
		}
		nt := strings.HasPrefix(strings.TrimLeft(sql, "\ufeff"), migrations.NoTransactionDirective)
		if f != nil {
			nt = f.NoTransaction
		}
		ordered = append(ordered, entry{lint.File{Name: p, Version: uint64(m.Version), Down: down, SQL: sql, NoTransaction: nt, Report: true}, down})
	}
	// Earlier up files of the same folders, as context.
	maxVersion := map[string]uint64{}
	given := map[string]bool{}
	for _, e := range ordered {
		dir := filepath.Dir(e.file.Name)
		maxVersion[dir] = max(maxVersion[dir], e.file.Version)
		if !e.down {
			given[dir+"|"+fmt.Sprint(e.file.Version)] = true
		}
	}
	for dir, ms := range contextOf {
		for _, m := range ms {
			if m.Version <= maxVersion[dir] && !given[dir+"|"+fmt.Sprint(m.Version)] {
				ordered = append(ordered, entry{lint.File{Name: filepath.Join(dir, m.Up.Path), Version: m.Version, SQL: m.Up.SQL,
					NoTransaction: m.Up.NoTransaction}, false})
			}
		}
	}
	slices.SortStableFunc(ordered, func(a, b entry) int {
		switch {
		case a.file.Version != b.file.Version:
			return int(min(max(int64(a.file.Version)-int64(b.file.Version), -1), 1))
		case a.down != b.down:
			if a.down {
				return 1
			}
			return -1
		}
		return 0
	})
	files := make([]lint.File, 0, len(ordered)+len(loose))
	for _, e := range ordered {
		files = append(files, e.file)
	}
	return append(files, loose...), nil
}

// lintView prints one finding per line with its fix below, then a summary.
func lintView(res lint.Result) output.Table {
	var sb strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&sb, "%s:%d: %s[%s]: %s\n    fix: %s\n", f.File, f.Line, f.Severity, f.Rule, output.Clean(f.Message), f.Fix)
	}
	return output.Table{Raw: sb.String(),
		Notes: []string{fmt.Sprintf("%d file(s): %d error(s), %d warning(s)", res.Files, res.Errors, res.Warnings)}}
}

func renderRules(d *deps) error {
	rules := lint.Rules()
	return d.render(struct {
		Rules []lint.Rule `json:"rules"`
	}{rules}, func() output.Table {
		t := output.Table{Header: []string{"RULE", "SEVERITY", "CATEGORY", "PEERS"}}
		for _, r := range rules {
			t.Rows = append(t.Rows, []string{r.ID, string(r.Severity), string(r.Category), r.Peers})
		}
		return t
	})
}
