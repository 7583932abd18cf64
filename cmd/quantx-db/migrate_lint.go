package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/migrations"
)

type lintResult struct {
	Files    int                      `json:"files"`
	Findings []migrations.LintFinding `json:"findings"`
}

func newMigrateLintCmd(d *deps, f *migrateFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "lint [FILES...]",
		Short: "Report dangerous DDL in migration files (exit 3 on findings)",
		Long: `lint looks for statements that lock busy tables for long (index builds without
CONCURRENTLY, table rewrites, constraint validation under lock), that fail in
the file's transaction mode, or that destroy data. Without FILES it checks
the up files of --source, or of the embedded set. Needs no database.`,
		Example: `  quantx-db migrate lint
  quantx-db migrate lint migrations/sql/0010_orders_note.up.sql`,
		RunE: func(cmd *cobra.Command, args []string) error {
			res := lintResult{Findings: []migrations.LintFinding{}}
			lintOne := func(name string, b []byte) {
				res.Files++
				res.Findings = append(res.Findings, migrations.Lint(name, string(b), strings.HasSuffix(name, ".down.sql"))...)
			}
			if len(args) > 0 {
				for _, p := range args {
					b, err := os.ReadFile(p)
					if err != nil {
						return usageErr(err, "give paths of .sql files")
					}
					lintOne(p, b)
				}
			} else {
				src := migrations.Files()
				if f.source != "" {
					src = os.DirFS(f.source)
				}
				names, err := fs.Glob(src, "*.up.sql")
				if err != nil {
					return err
				}
				for _, n := range names {
					b, err := fs.ReadFile(src, n)
					if err != nil {
						return err
					}
					lintOne(filepath.Base(n), b)
				}
			}
			if err := d.render(res, func() output.Table {
				t := output.Table{Header: []string{"FILE:LINE", "RULE", "MESSAGE"}}
				for _, fd := range res.Findings {
					t.Rows = append(t.Rows, []string{fmt.Sprintf("%s:%d", fd.File, fd.Line), fd.Rule, fd.Message})
				}
				if len(res.Findings) == 0 {
					t.Header = nil
				}
				t.Notes = []string{fmt.Sprintf("%d file(s), %d finding(s)", res.Files, len(res.Findings))}
				return t
			}); err != nil {
				return err
			}
			if len(res.Findings) > 0 {
				return checkFailed(fmt.Sprintf("%d finding(s) in migration files", len(res.Findings)), "fix them, or split the change as each message says")
			}
			return nil
		},
	}
}
