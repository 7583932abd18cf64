package main

import "github.com/spf13/cobra"

func newInfluxCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "influx", Short: "(not yet available)", Hidden: true}
}
