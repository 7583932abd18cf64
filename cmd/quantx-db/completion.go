package main

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Example: `  source <(quantx-db completion bash)
  quantx-db completion zsh > "${fpath[1]}/_quantx-db"
  quantx-db completion fish > ~/.config/fish/completions/quantx-db.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout() // a static script: not through the redacting stream
			d.rendered = true
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			default:
				return root.GenFishCompletion(out, true)
			}
		},
	}
}
