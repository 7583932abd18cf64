package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/config"
)

func newWALCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wal",
		Short: "WAL archiving with pgBackRest into the backup bucket, for point-in-time recovery",
		Long: `WAL archiving makes every committed transaction restorable, not only the
nightly dump: pgBackRest pushes each WAL segment into the configured S3 bucket
under <--s3-prefix>pgbackrest/, next to the physical backups ('backup
physical') that a point-in-time restore ('restore pitr') starts from.

'wal setup' runs once per cluster, on the database host, as the data
directory's owner; it writes the pgBackRest configuration (--pgbackrest-config,
default /etc/pgbackrest/pgbackrest.conf) that every other physical-backup
command reads. pgBackRest talks to S3 over TLS only (--s3-tls, --s3-ca-file).`,
		Example: `  sudo -u postgres quantx-db wal setup --pgdata /var/lib/postgresql/15/main
  sudo -u postgres quantx-db wal status --max-lag 2m -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newWALSetupCmd(d), newWALStatusCmd(d))
	return cmd
}

// physical returns the pgBackRest runner for the configured file and stanza.
func (d *deps) physical(pgBinDir string) (*backup.Physical, config.Config, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, cfg, err
	}
	return backup.NewPhysical(backup.PhysicalOptions{ConfigFile: cfg.PgBackRestConfig, Stanza: cfg.Stanza,
		PGBinDir: pgBinDir, Logger: d.logger, Now: d.now}), cfg, nil
}

// needPgBackRestConfig is the usage error of a physical-backup command run before 'wal setup'.
func needPgBackRestConfig(cfg config.Config) error {
	f, err := os.Open(cfg.PgBackRestConfig)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w at %s", backup.ErrNoConfig, cfg.PgBackRestConfig) // exit 2, with the hint of hints.go
	case err != nil:
		return failure(err, "run as the data directory's owner: the pgBackRest configuration holds the S3 secret and only it may read it")
	}
	return f.Close()
}

// physicalConfigured reports whether physical backups are set up here (the configuration exists);
// listings and status include them only then.
func physicalConfigured(cfg config.Config) bool {
	return backup.NewPhysical(backup.PhysicalOptions{ConfigFile: cfg.PgBackRestConfig, Stanza: cfg.Stanza}).Configured()
}

// ageString renders an age in seconds for people: "12s", "3m4s", "26h5m0s".
func ageString(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
