package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/s3store"
	"github.com/quantx/quantx-db/retention"
	"github.com/quantx/quantx-db/stack"
)

func newBackupCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Stream PostgreSQL and InfluxDB backups into S3, list, verify and prune them",
		Long: `Backups go to the S3 bucket of --s3-bucket under <--s3-prefix>backups/<ID>/, with a
manifest.json written last: a backup without a manifest does not exist for
list, restore and prune. A run killed mid-upload leaves an incomplete multipart
upload; the next backup run, 'retention apply' or 'backup prune' aborts it once
it has been idle for --stale-after (default 15m), under backups/ and under the
retention archive prefix archive/ alike. See docs/backup.md for restoring with stock
tools (any S3 client + pg_restore) when quantx-db is not at hand.

'backup physical' takes pgBackRest backups of the whole cluster into the same
bucket (under <--s3-prefix>pgbackrest/), the base of point-in-time restores
('restore pitr', after 'wal setup'); list, info and prune include them.

Where a command takes a backup ID (verify, restore postgres, restore influx),
"latest" is the newest backup of that kind and of the configured database
(--database overrides it); none is exit 1, naming the databases that have
backups.`,
		Example: `  quantx-db backup postgres
  quantx-db backup influx --influx-rpc 10.0.0.5:8088 --database quantx
  quantx-db backup list --kind postgres --database quantx -o json
  quantx-db backup info
  quantx-db backup verify 20261126T174500Z-postgres-quantx-k3j9x2
  quantx-db backup verify latest
  quantx-db backup prune --keep-last 7 --keep-weekly 8 --dry-run
  sudo -u postgres quantx-db backup physical --type incr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBackupPostgresCmd(d), newBackupInfluxCmd(d), newBackupListCmd(d), newBackupInfoCmd(d), newBackupVerifyCmd(d), newBackupPruneCmd(d))
	cmd.AddCommand(newBackupPhysicalCmd(d))
	return cmd
}

// catalogueFlags are shared by every command that opens the catalogue.
type catalogueFlags struct {
	staleAfter time.Duration
}

func (f *catalogueFlags) addStale(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.staleAfter, "stale-after", 15*time.Minute,
		"abort incomplete uploads (under backups/ and archive/) and remove manifest-less folders idle for this long (a live upload is never idle that long)")
}

// openS3 connects to the configured bucket: the one way every command opens
// S3. need says what needs the bucket, for the usage error when none is
// configured; or is another way out of that error ("" for none).
func (d *deps) openS3(ctx context.Context, need, or string) (*s3store.Store, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, err
	}
	if cfg.S3Endpoint == "" || cfg.S3Bucket == "" {
		hint := "set --s3-endpoint and --s3-bucket (QUANTX_S3_ENDPOINT, QUANTX_S3_BUCKET)"
		if or != "" {
			hint += ", or " + or
		}
		return nil, usagef(hint, "%s, and no S3 bucket is configured", need)
	}
	st, err := s3store.New(ctx, s3store.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey.Reveal(),
		Bucket: cfg.S3Bucket, TLS: cfg.S3TLS, Prefix: cfg.S3Prefix, Logger: d.logger, CAFile: cfg.S3CAFile, Region: cfg.S3Region})
	if err != nil {
		if _, hint, _ := explain(err); hint == "" {
			return nil, failure(err, hintS3Connect) // not one of the known S3 answers: the settings are the first suspect
		}
		return nil, err
	}
	return st, nil
}

// openCatalogue connects to the configured bucket's backup catalogue.
func (d *deps) openCatalogue(ctx context.Context, f *catalogueFlags) (*backup.Catalogue, *s3store.Store, error) {
	st, err := d.openS3(ctx, "backups live in S3", "")
	if err != nil {
		return nil, nil, err
	}
	// Every run that uploads sweeps what any killed run left: backups and partition archives.
	o := backup.Options{Logger: d.logger, Now: d.now, ToolVersion: version, Progress: d.progress(),
		StalePrefixes: []string{retention.ArchivePrefix}}
	if f != nil {
		o.StaleAfter = f.staleAfter
		if f.staleAfter == 0 {
			o.StaleAfter = -1 // "now": everything idle is stale
		}
	}
	return backup.New(st, o), st, nil
}

// findTool returns a tool from PATH, then from $QUANTX_CACHE/bin (where scripts/services installs
// influxd), or "" when neither has it.
func (d *deps) findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	cache := d.getenv("QUANTX_CACHE")
	if cache == "" {
		if home := d.getenv("HOME"); home != "" {
			cache = filepath.Join(home, ".cache", "quantx-db")
		}
	}
	if cache != "" {
		p := filepath.Join(cache, "bin", name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// openStatusCatalogue adapts the catalogue to what status and doctor read: the newest backup per kind
// and database.
func (d *deps) openStatusCatalogue(ctx context.Context) (stack.BackupCatalogue, error) {
	c, _, err := d.openCatalogue(ctx, nil)
	if err != nil {
		return nil, err
	}
	return statusCatalogue{c}, nil
}

type statusCatalogue struct{ c *backup.Catalogue }

func (s statusCatalogue) Newest(ctx context.Context) ([]stack.NewestBackup, error) {
	ns, err := s.c.Newest(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]stack.NewestBackup, 0, len(ns))
	for _, n := range ns {
		out = append(out, stack.NewestBackup{Kind: string(n.Kind), Database: n.Database, ID: n.ID, FinishedAt: n.FinishedAt, Size: n.Size})
	}
	return out, nil
}

// encryptToFlag adds --encrypt-to to a backup verb.
func encryptToFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "encrypt-to", "", "encrypt every object to this age `RECIPIENT` (restore then needs --identity)")
}

// recipients parses --encrypt-to; empty means no encryption.
func recipients(encryptTo string) ([]age.Recipient, error) {
	if encryptTo == "" {
		return nil, nil
	}
	rs, err := backup.ParseRecipients(encryptTo)
	if err != nil {
		return nil, usageErr(err, "--encrypt-to takes an age public key (age1..., from age-keygen -y KEYFILE)")
	}
	return rs, nil
}

// takeBackup is the shape of every logical backup verb: open the catalogue,
// take the backup, record its metrics and print its manifest.
func (d *deps) takeBackup(ctx context.Context, cf *catalogueFlags, take func(*backup.Catalogue) (backup.Manifest, error)) error {
	cat, _, err := d.openCatalogue(ctx, cf)
	if err != nil {
		return err
	}
	m, err := take(cat)
	if err != nil {
		return err
	}
	d.metrics.backups(m)
	return d.render(m, func() output.Table { return manifestTable(m) })
}

// restored records a restore's metrics and prints its result: the end of
// every restore verb.
func (d *deps) restored(res backup.RestoreResult) error {
	d.metrics.restore(res)
	return d.render(res, func() output.Table { return restoreTable(res) })
}

// identityFlag adds --identity to a verb that reads encrypted backups.
func identityFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "identity", "", "age identity `FILE` for encrypted backups (age-keygen output)")
}

// identities reads --identity; "" means none.
func identities(file string) ([]age.Identity, error) {
	if file == "" {
		return nil, nil
	}
	ids, err := backup.ReadIdentities(file)
	if err != nil {
		return nil, usageErr(err, "--identity is an age identity file (age-keygen output)")
	}
	return ids, nil
}

// influxServer resolves how backup and restore influx reach the server: the
// connection settings, the 1.x backup/restore address and its timeout
// (--influx-rpc, --influx-rpc-timeout), and influxd (--influxd, else PATH,
// else $QUANTX_CACHE/bin; a missing one is reported only if the server is 1.x).
func (d *deps) influxServer(rpc, rpcTimeout, influxd string) (backup.InfluxServer, error) {
	cfg, err := d.config()
	if err != nil {
		return backup.InfluxServer{}, err
	}
	s := backup.InfluxServer{URL: cfg.InfluxURL.Reveal(), Token: cfg.InfluxToken.Reveal(), Org: cfg.InfluxOrg, Influxd: influxd}
	if s.RPC, err = d.influxRPC(rpc, s.URL); err != nil {
		return s, err
	}
	if s.RPCTimeout, err = d.influxRPCTimeout(rpcTimeout); err != nil {
		return s, err
	}
	if s.Influxd == "" {
		s.Influxd = d.findTool("influxd")
	}
	return s, nil
}
