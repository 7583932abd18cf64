package main

import "github.com/spf13/cobra"

func newPartitionsCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "partitions", Short: "(not yet available)", Hidden: true}
}
