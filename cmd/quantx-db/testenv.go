package main

import "github.com/spf13/cobra"

func newTestenvCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "testenv", Short: "(not yet available)", Hidden: true}
}
