package main

import "github.com/spf13/cobra"

func newStatusCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "status", Short: "(not yet available)", Hidden: true}
}
