package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/output"
)

func newRootCmd(d *deps) *cobra.Command {
	var format, logLevel, logFormat string
	root := &cobra.Command{
		Use:   "quantx-db",
		Short: "Provision and evolve the QuantX data stores",
		Long: `quantx-db migrates PostgreSQL, keeps its partitions and retention in order,
provisions InfluxDB and Elasticsearch/OpenSearch, and backs everything up to S3.

Connection settings come from flags, then QUANTX_* environment variables, then
an optional YAML file (--config). Passwords and tokens are never printed.

Exit codes: 0 ok (also nothing to do), 1 failure, 2 usage error, 3 a check
found something (pending, drift, findings, mismatch), 4 lock held by another
runner, 130 interrupted.`,
		Example: `  export QUANTX_DATABASE_URL=postgres://app@localhost:5432/quantx?sslmode=disable
  quantx-db migrate up
  quantx-db migrate status -o json`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			f, err := output.ParseFormat(format)
			if err != nil {
				return usageErr(err, "")
			}
			d.format = f
			lg, err := newLogger(d.streams.Err, logLevel, logFormat)
			if err != nil {
				return usageErr(err, "")
			}
			d.logger = lg
			d.flags = cmd.Flags()
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&format, "output", "o", "text", "output `format`: text or json")
	pf.StringVar(&logLevel, "log-level", "info", "log `level` on stderr: debug, info, warn, error")
	pf.StringVar(&logFormat, "log-format", "text", "log `format` on stderr: text or json")
	config.AddFlags(pf)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(err, "see '"+c.CommandPath()+" --help'")
	})

	root.AddCommand(
		newVersionCmd(d),
		newMigrateCmd(d),
		newPartitionsCmd(d),
		newRetentionCmd(d),
		newInfluxCmd(d),
		newElasticCmd(d),
		newBackupCmd(d),
		newRestoreCmd(d),
		newWALCmd(d),
		newProvisionCmd(d),
		newStatusCmd(d),
		newDoctorCmd(d),
		newTestenvCmd(d),
		newCompletionCmd(d),
		newDocsCmd(d),
	)
	root.CompletionOptions.DisableDefaultCmd = true // ours has an example and only the shells we test
	return root
}

// yesFlag adds the --yes flag that destructive commands require off a terminal.
func yesFlag(cmd *cobra.Command, d *deps) {
	cmd.Flags().BoolVarP(&d.assumeYes, "yes", "y", false, "do it without asking (required when not on a terminal)")
}
