package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/quantx/quantx-db/internal/output"
)

// newDocsCmd generates the man pages in docs/man from the command tree, so
// they can never disagree with --help. Hidden: it is for maintainers.
func newDocsCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:     "gen-man DIR",
		Short:   "Write man pages for every command into DIR",
		Example: "  quantx-db gen-man docs/man",
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // no date line: regenerating must not dirty the tree
			hdr := &doc.GenManHeader{Title: "QUANTX-DB", Section: "1", Source: "quantx-db", Manual: "quantx-db manual"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return err
			}
			return d.render(map[string]string{"dir": args[0]}, func() output.Table {
				return output.Table{Notes: []string{fmt.Sprintf("man pages written to %s", args[0])}}
			})
		},
	}
}
