package main

import "github.com/spf13/cobra"

func newProvisionCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "provision", Short: "(not yet available)", Hidden: true}
}
