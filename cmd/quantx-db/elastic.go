package main

import "github.com/spf13/cobra"

// elasticFlags are the flags every elastic verb shares.
type elasticFlags struct {
	prefix  string // prepended to every index, alias, template and policy name
	defsDir string // definitions directory replacing the built-in ones
}

func newElasticCmd(d *deps) *cobra.Command {
	var f elasticFlags
	cmd := &cobra.Command{
		Use:   "elastic",
		Short: "Provision Elasticsearch 8 or OpenSearch 2: templates, versioned indices, reindex, retention",
		Long: `Provision the QuantX search indices (instruments, documents, activity) on
Elasticsearch 8 or OpenSearch 2 from definitions built into quantx-db: component
and index templates, physical indices NAME-vN behind a read alias NAME and a
write alias NAME-write, and retention for time-based indices (ILM, ISM, or
quantx-db's own rollover and delete when the server has neither).

--elastic-engine auto (the default) tells the engines apart by probing the
server. A history index (quantx-db-history) records what was applied.`,
		Example: `  quantx-db elastic setup --dry-run
  quantx-db elastic setup
  quantx-db elastic status -o json
  quantx-db elastic reindex instruments --yes`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.prefix, "index-prefix", "", "`prefix` for every index, alias, template and policy name (several environments on one cluster)")
	pf.StringVar(&f.defsDir, "defs", "", "definitions `directory` (components/*.json, indices/*.json) instead of the built-in ones")
	cmd.AddCommand(newElasticSetupCmd(d, &f), newElasticStatusCmd(d, &f), newElasticReindexCmd(d, &f))
	return cmd
}
