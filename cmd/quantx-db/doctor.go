package main

import "github.com/spf13/cobra"

func newDoctorCmd(d *deps) *cobra.Command {
	return &cobra.Command{Use: "doctor", Short: "(not yet available)", Hidden: true}
}
