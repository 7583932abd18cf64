package main

import "github.com/spf13/cobra"

func newRetentionCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "retention", Short: "(not yet available)", Hidden: true}
}
