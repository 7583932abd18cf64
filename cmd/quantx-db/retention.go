package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/retention"
)

func newRetentionCmd(d *deps) *cobra.Command {
	var f maintenanceFlags
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Apply the data retention policy without long locks or long transactions",
		Long: `The retention policy (YAML; built-in defaults from the seed, or --policy FILE):
activity_logs keeps 24 months: older monthly partitions are archived to S3
(gzip CSV + a JSON manifest with row count and sha256), confirmed in the
bucket, detached and dropped; orders in FILLED, CANCELED or EXPIRED older
than 12 months get archived = true in batches with a pause between them.

'retention show' prints the effective policy (InfluxDB and search retention
are listed for information: 'influx setup' and 'elastic setup' apply them).`,
		Example: `  quantx-db retention show
  quantx-db retention init retention.yaml      # the built-in policy, commented, to edit
  quantx-db retention apply --dry-run
  quantx-db retention apply --yes              # nightly from cron
  quantx-db retention apply --policy retention.yaml --no-archive --yes`,
	}
	f.add(cmd)
	cmd.AddCommand(newRetentionShowCmd(d), newRetentionApplyCmd(d, &f), newRetentionInitCmd(d))
	return cmd
}

// policyFlag adds --policy to a retention verb.
func policyFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "policy", "", "retention policy YAML `file` (default: the built-in policy, see 'retention show')")
}

// loadPolicy reads --policy, or returns the built-in policy. A bad file is a
// usage error with one line naming the file, the line and the key.
func loadPolicy(path string) (retention.Policy, error) {
	if path == "" {
		return retention.DefaultPolicy(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return retention.Policy{}, usageErr(err, "give a readable YAML file; 'quantx-db retention init FILE' writes the built-in policy to start from")
	}
	p, err := retention.ParsePolicy(b, path)
	if err != nil {
		if errors.Is(err, retention.ErrPolicy) {
			return retention.Policy{}, usageErr(err, "fix the policy file; 'quantx-db retention init' prints the built-in policy, every key explained")
		}
		return retention.Policy{}, err
	}
	return p, nil
}
