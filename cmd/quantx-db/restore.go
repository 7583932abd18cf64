package main

import "github.com/spf13/cobra"

func newRestoreCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "restore", Short: "(not yet available)", Hidden: true}
}
