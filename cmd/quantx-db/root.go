package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/output"
)

func newRootCmd(d *deps) *cobra.Command {
	var format, logLevel, logFormat string
	var verbose bool
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
			f, err := output.ParseFormat(format, extraFormats(cmd)...)
			if err != nil {
				return usageErr(err, "")
			}
			d.format, d.formatSet = f, true
			d.learnFlagSecrets(cmd.Flags())
			if verbose && !cmd.Flags().Changed("log-level") {
				logLevel = "info"
			}
			lg, err := newLogger(d.logOut, d.redactor, logLevel, logFormat)
			if err != nil {
				return usageErr(err, "")
			}
			d.logger = lg
			d.prog = newProgressSink(d, strings.ToLower(logFormat), lg)
			d.flags = cmd.Flags()
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&format, "output", "o", "text", "output `format`: text or json")
	pf.StringVar(&logLevel, "log-level", "", "log `level` on stderr: debug, info, warn, error (default warn: results and warnings only; info with --log-format json)")
	pf.BoolVarP(&verbose, "verbose", "v", false, "log each step on stderr (--log-level info)")
	pf.StringVar(&logFormat, "log-format", "text", "log `format` on stderr: text or json")
	config.AddFlags(pf)
	root.SetFlagErrorFunc(flagError)

	root.AddCommand(
		newVersionCmd(d),
		newMigrateCmd(d),
		newPartitionsCmd(d),
		newRetentionCmd(d),
		newInfluxCmd(d),
		newElasticCmd(d),
		newBackupCmd(d),
		newRestoreCmd(d),
		newRolesCmd(d),
		newWALCmd(d),
		newProvisionCmd(d),
		newStatusCmd(d),
		newDoctorCmd(d),
		newTestenvCmd(d),
		newCompletionCmd(d),
		newDocsCmd(d),
	)
	root.CompletionOptions.DisableDefaultCmd = true // ours has an example and only the shells we test
	help := newHelpCmd()
	help.ValidArgsFunction = helpTopics
	root.SetHelpCommand(help)
	strictCommands(root) // it covers every command added above
	return root
}

// annotFormats names the extra -o formats a command offers (comma-separated).
const annotFormats = "quantx-db/output-formats"

func extraFormats(cmd *cobra.Command) []output.Format {
	var out []output.Format
	for _, f := range strings.Split(cmd.Annotations[annotFormats], ",") {
		if f != "" {
			out = append(out, output.Format(f))
		}
	}
	return out
}

// yesFlag adds the --yes flag that destructive commands require off a terminal.
func yesFlag(cmd *cobra.Command, d *deps) {
	cmd.Flags().BoolVarP(&d.assumeYes, "yes", "y", false, "do it without asking (required when not on a terminal)")
}
