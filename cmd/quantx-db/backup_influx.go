package main

import (
	"net"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/influx"
)

func newBackupInfluxCmd(d *deps) *cobra.Command {
	var (
		cf                                catalogueFlags
		database, rpc, influxd, encryptTo string
		start, end, rpcTimeout            string
	)
	cmd := &cobra.Command{
		Use:   "influx",
		Short: "Back up an InfluxDB database (1.x: influxd backup -portable; 2.x: its backup API) into the S3 bucket",
		Long: `The server's version, read from --influx-url, picks the method ("1.8.10",
"2.7.12" and "v2.7.12" are all understood; 3.x is refused).

On InfluxDB 1.x it runs influxd backup -portable -db DATABASE -host RPC into a
temporary folder, then streams it as a gzip tar into the bucket with a
manifest. influxd comes from PATH or $QUANTX_CACHE/bin (--influxd names it).
The RPC address (--influx-rpc, QUANTX_INFLUX_RPC) defaults to the host of
--influx-url with port 8088; that port has no authentication: keep it on
loopback or a private network. influxd retries a dead address for minutes
without a word, so quantx-db first checks that the address accepts a
connection and stops influxd when it makes no progress, both within
--influx-rpc-timeout (QUANTX_INFLUX_RPC_TIMEOUT, default 15s).
--start and --end go together (influxd 1.6.7 mishandles one alone).

On InfluxDB 2.x it reads the buckets of DATABASE (the bucket named DATABASE
and those named DATABASE/<tier>, of --influx-org if set) through the HTTP
backup API with --influx-token, which must be an operator token; no influxd
or influx CLI is needed. Transient answers of the API (a 2.7 server answers
500 "snapshots disabled" for a moment while writes reach a shard) are retried
with backoff. Users, tokens, tasks and dashboards are not part of it:
'quantx-db influx setup' recreates the tasks and DBRP mappings.

DATABASE defaults to quantx_db, the database 'quantx-db influx setup' creates;
a database that does not exist is named in the error, before anything runs.`,
		Example: `  quantx-db backup influx
  quantx-db backup influx --database quantx_db --influx-rpc 127.0.0.1:8088 --encrypt-to age1...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			srv, err := d.influxServer(rpc, rpcTimeout, influxd)
			if err != nil {
				return err
			}
			o := backup.InfluxBackup{InfluxServer: srv, Database: database}
			if (start == "") != (end == "") {
				return usagef("give both --start and --end, or neither", "--start and --end go together")
			}
			if start != "" {
				if o.Start, err = time.Parse(time.RFC3339, start); err != nil {
					return usageErr(err, "--start is RFC 3339, e.g. 2026-11-01T00:00:00Z")
				}
				if o.End, err = time.Parse(time.RFC3339, end); err != nil {
					return usageErr(err, "--end is RFC 3339, e.g. 2026-11-30T00:00:00Z")
				}
			}
			if o.Recipients, err = recipients(encryptTo); err != nil {
				return err
			}
			return d.takeBackup(ctx, &cf, func(cat *backup.Catalogue) (backup.Manifest, error) { return cat.BackupInflux(ctx, o) })
		},
	}
	cf.addStale(cmd)
	cmd.Flags().StringVar(&database, "database", influx.DefaultDatabase, "InfluxDB `DATABASE` to back up (the one 'influx setup' creates)")
	addInfluxRPCFlags(cmd, &rpc, &rpcTimeout)
	cmd.Flags().StringVar(&influxd, "influxd", "", "influxd binary `PATH` (default: PATH, then $QUANTX_CACHE/bin)")
	encryptToFlag(cmd, &encryptTo)
	cmd.Flags().StringVar(&start, "start", "", "only points from this RFC 3339 `TIME` (needs --end)")
	cmd.Flags().StringVar(&end, "end", "", "only points before this RFC 3339 `TIME` (needs --start)")
	return cmd
}

// addInfluxRPCFlags adds the 1.x backup/restore address flags of backup and restore influx.
func addInfluxRPCFlags(cmd *cobra.Command, rpc, timeout *string) {
	cmd.Flags().StringVar(rpc, "influx-rpc", "", "influxd backup/restore `HOST:PORT` (default: QUANTX_INFLUX_RPC, else --influx-url's host:8088)")
	cmd.Flags().StringVar(timeout, "influx-rpc-timeout", "", "how long to wait for the RPC address, and for influxd to make progress (`DURATION`; default: QUANTX_INFLUX_RPC_TIMEOUT, else 15s)")
}

// influxRPC resolves the influxd RPC address: flag, QUANTX_INFLUX_RPC, then --influx-url's host:8088.
func (d *deps) influxRPC(flag, influxURL string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v := d.getenv("QUANTX_INFLUX_RPC"); v != "" {
		return v, nil
	}
	u, err := url.Parse(influxURL)
	if influxURL == "" || err != nil || u.Hostname() == "" {
		return "", usagef("pass --influx-rpc HOST:8088 (or set QUANTX_INFLUX_RPC), or --influx-url", "no InfluxDB RPC address")
	}
	return net.JoinHostPort(u.Hostname(), "8088"), nil
}

// influxRPCTimeout resolves --influx-rpc-timeout, then QUANTX_INFLUX_RPC_TIMEOUT; 0 leaves the library's 15s.
func (d *deps) influxRPCTimeout(flag string) (time.Duration, error) {
	v, from := flag, "--influx-rpc-timeout"
	if v == "" {
		v, from = d.getenv("QUANTX_INFLUX_RPC_TIMEOUT"), "QUANTX_INFLUX_RPC_TIMEOUT"
	}
	if v == "" {
		return 0, nil
	}
	t, err := time.ParseDuration(v)
	if err != nil || t <= 0 {
		return 0, usagef("for example 30s or 2m", "%s %q is not a positive duration", from, v)
	}
	return t, nil
}
