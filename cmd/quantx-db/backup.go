package main

import "github.com/spf13/cobra"

func newBackupCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "backup", Short: "(not yet available)", Hidden: true}
}
