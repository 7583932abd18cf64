package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/config"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/stackenv"
	"github.com/quantx/quantx-db/stack"
)

type testenvFlags struct {
	provider  string
	services  string
	provision bool
}

func (f *testenvFlags) options(d *deps) stackenv.Options {
	o := stackenv.Options{Provider: f.provider, Progress: d.streams.Err, Logger: d.logger, Cache: d.getenv("QUANTX_CACHE"),
		DockerHost: d.getenv("DOCKER_HOST"), DockerTLS: d.getenv("DOCKER_TLS_VERIFY") != ""}
	// scripts/services reads its ports and folders from QUANTX_* variables
	// (docs/test-services.md); pass the ones this invocation was given.
	for _, k := range []string{"QUANTX_RUN", "QUANTX_PG_PORT", "QUANTX_INFLUX_PORT", "QUANTX_INFLUX_RPC_PORT", "QUANTX_S3_PORT",
		"QUANTX_OPENSEARCH_PORT", "QUANTX_OPENSEARCH_TRANSPORT_PORT", "QUANTX_ELASTICSEARCH_PORT",
		"QUANTX_ELASTICSEARCH_TRANSPORT_PORT", "QUANTX_SVC_USER"} {
		if v := d.getenv(k); v != "" {
			o.Env = append(o.Env, k+"="+v)
		}
	}
	if f.services != "" {
		o.Services = strings.Split(f.services, ",")
	}
	return o
}

func newTestenvCmd(d *deps) *cobra.Command {
	var f testenvFlags
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "A throwaway PostgreSQL, InfluxDB, S3 and search stack for CI",
		Long: `testenv starts the servers a CI job needs and provisions a QuantX stack on
them. With a Docker engine reachable (DOCKER_HOST or /var/run/docker.sock,
checked within 2 s) it runs the official images in containers named
quantx-db-testenv-<server>; otherwise it installs and starts local servers
with the scripts/services embedded in this binary. 'up' prints export
lines for the provisioned stack on stdout, so a pipeline step can do:

  eval "$(quantx-db testenv up)"

See docs/ci.md for a complete workflow.`,
		Example: `  eval "$(quantx-db testenv up)"
  quantx-db testenv env > stack.env
  quantx-db testenv down`,
	}
	cmd.PersistentFlags().StringVar(&f.provider, "provider", "auto", "`auto`, local or docker")
	cmd.PersistentFlags().StringVar(&f.services, "services", "", "comma-separated `servers` (default postgres,influxdb,s3,opensearch,elasticsearch)")
	cmd.AddCommand(newTestenvUpCmd(d, &f), newTestenvEnvCmd(d, &f), newTestenvDownCmd(d, &f))
	return cmd
}

// testenvResult is what up and env print.
type testenvResult struct {
	Provider  string                 `json:"provider,omitempty"`
	EnvFile   string                 `json:"env_file,omitempty"`
	Env       map[string]string      `json:"env"` // QUANTX_* settings of the provisioned stack
	Provision *stack.ProvisionReport `json:"provision,omitempty"`
}

func exportLines(env map[string]string) output.Table {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		lines = append(lines, "export "+k+"="+shellQuote(env[k]))
	}
	return output.Table{Raw: strings.Join(lines, "\n")}
}

// shellQuote quotes v for sh: the values are passwords and URLs.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

func newTestenvUpCmd(d *deps, f *testenvFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the servers, provision QuantX on them, print export lines",
		Example: `  eval "$(quantx-db testenv up)"
  quantx-db testenv up --provider local --services postgres,influxdb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			res, err := stackenv.Up(ctx, f.options(d))
			if err != nil {
				return failure(err, "see the servers' output above; 'quantx-db testenv down' cleans up")
			}
			out := testenvResult{Provider: res.Provider, EnvFile: res.EnvFile}
			if out.Env, err = stackenv.ProductEnv(res.Env); err != nil {
				return err
			}
			if f.provision {
				if admin := res.Env["QUANTX_TEST_DATABASE_URL"]; admin != "" {
					if err := stackenv.CreateDatabase(ctx, admin); err != nil {
						return err
					}
				}
				// Provision exactly the stack whose settings we print.
				cfg, err := config.Resolve(nil, func(k string) string { return out.Env[k] })
				if err != nil {
					return err
				}
				d.setConfig(cfg)
				s, closeStores, err := d.openStores(ctx, &stackFlags{})
				defer closeStores()
				if err != nil {
					return err
				}
				rep, err := stack.Provision(ctx, s, stack.ProvisionOptions{})
				if err != nil {
					return err
				}
				out.Provision = &rep
				if rep.Failed {
					return storeFailure("provisioning the test stack failed: ", rep.Err())
				}
			}
			return d.renderCredentials(out, func() output.Table { return exportLines(out.Env) })
		},
	}
	cmd.Flags().BoolVar(&f.provision, "provision", true, "migrate and set up the stores after starting them")
	return cmd
}

func newTestenvEnvCmd(d *deps, f *testenvFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "env",
		Short:   "Print export lines for the running test stack",
		Example: `  eval "$(quantx-db testenv env)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			test, err := stackenv.ReadEnv(f.options(d))
			if err != nil {
				return failure(err, "")
			}
			env, err := stackenv.ProductEnv(test)
			if err != nil {
				return err
			}
			out := testenvResult{Provider: test["QUANTX_TESTENV_PROVIDER"], Env: env}
			return d.renderCredentials(out, func() output.Table { return exportLines(env) })
		},
	}
}

func newTestenvDownCmd(d *deps, f *testenvFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "down",
		Short:   "Stop the test stack's servers (its data is throwaway)",
		Example: "  quantx-db testenv down",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := stackenv.Down(cmd.Context(), f.options(d)); err != nil {
				return failure(err, "")
			}
			return d.render(map[string]bool{"stopped": true}, func() output.Table {
				return output.Table{Notes: []string{"test stack stopped"}}
			})
		},
	}
}
