package main

import "github.com/spf13/cobra"

func newElasticCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "elastic", Short: "(not yet available)", Hidden: true}
}
