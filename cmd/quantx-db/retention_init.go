package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/retention"
)

// retentionInitResult is what 'retention init' did.
type retentionInitResult struct {
	File   string `json:"file,omitempty"`   // "" when the policy went to stdout
	Policy string `json:"policy,omitempty"` // the YAML, when it went to stdout with -o json
	Bytes  int    `json:"bytes"`
}

func newRetentionInitCmd(d *deps) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write the built-in retention policy as commented YAML, to edit and pass with --policy",
		Long: `Writes the built-in retention policy, every key explained in a comment, to
FILE (or to stdout without FILE). An existing FILE is never overwritten
without --force. Edit it, check it with 'retention show --policy FILE', and
use it with 'retention apply --policy FILE'. The file as written is exactly
the built-in policy.`,
		Example: `  quantx-db retention init retention.yaml
  quantx-db retention show --policy retention.yaml
  quantx-db retention init > retention.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := retention.DefaultPolicyYAML()
			if len(args) == 0 {
				if d.format == output.FormatJSON {
					return d.render(retentionInitResult{Policy: string(body), Bytes: len(body)}, nil)
				}
				d.rendered = true
				_, err := d.streams.Out.Write(body)
				return err
			}
			path := args[0]
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return usagef("pass --force to replace it, or name another file", "%s exists: not overwritten", path)
			}
			if err != nil {
				return usageErr(err, "name a file in a writable directory")
			}
			if _, err := f.Write(body); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			res := retentionInitResult{File: path, Bytes: len(body)}
			return d.render(res, func() output.Table {
				return output.Table{Notes: []string{fmt.Sprintf("wrote the built-in retention policy to %s; edit it, then check it with 'quantx-db retention show --policy %s'", path, path)}}
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite FILE if it exists")
	return cmd
}
