package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/internal/pglock"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/stack"
)

// stackFlags name the per-environment parts of the desired state, so that
// several stacks (or tests) can share one InfluxDB or search server.
type stackFlags struct {
	influxDatabase string
	elasticPrefix  string
	lockWait       time.Duration // provision: how long to wait for another runner's lock
}

func (f *stackFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.influxDatabase, "influx-database", "", "InfluxDB database/bucket `name` (default: the desired state's quantx_db)")
	cmd.Flags().StringVar(&f.elasticPrefix, "elastic-index-prefix", "", "`prefix` of every index, alias and template name")
}

// openStores connects to every configured store for provision, status and
// doctor. A store without settings stays nil (skipped). A bad setting is a
// usage error and nothing is opened; a store that is configured but cannot
// be reached goes into s.Unavailable, with its hint, so that the report still
// covers every other store. close releases whatever was opened.
func (d *deps) openStores(ctx context.Context, f *stackFlags) (s stack.Stores, close func(), err error) {
	close = func() {}
	cfg, err := d.config()
	if err != nil {
		return s, close, err
	}
	s.Unavailable = map[string]error{}
	// unavailable records a store's open error; a usage error or an
	// interruption ends the run instead.
	unavailable := func(store string, err error) error {
		if ue, ok := errors.AsType[*userError](err); ok && ue.code == exitUsage || ctx.Err() != nil {
			return err
		}
		s.Unavailable[store] = err
		return nil
	}
	if cfg.DatabaseURL != "" {
		pool, err := d.openPool(ctx)
		if err == nil {
			close = pool.Close
			s.Postgres = pool
			// provision has --lock-wait only; the rest are the migrate and partitions defaults.
			if s.Migrations, err = migrations.New(pool, migrations.Files(), migrations.Options{AppliedBy: appliedBy(), Logger: d.logger,
				LockWait: f.lockWait, LockTimeout: pglock.DefaultTimeout, LockRetries: migrateLockRetries, Progress: d.progress()}); err != nil {
				return s, close, err
			}
			s.Partitions = partitions.New(pool, partitions.Options{Now: d.now, Logger: d.logger,
				LockWait: f.lockWait, LockTimeout: pglock.DefaultTimeout, Retries: maintenanceLockRetries})
		} else if err := unavailable(stack.Postgres, err); err != nil {
			return s, close, err
		}
	}
	if cfg.InfluxURL != "" {
		if s.Influx, err = d.influxProvisioner(&influxFlags{database: f.influxDatabase}); err != nil {
			if err := unavailable(stack.Influx, err); err != nil {
				return s, close, err
			}
		}
	}
	if cfg.ElasticURL != "" {
		if s.Elastic, err = d.elasticProvisioner(ctx, &elasticFlags{prefix: f.elasticPrefix}, nil); err != nil {
			if err := unavailable(stack.Elastic, err); err != nil {
				return s, close, err
			}
		}
	}
	// WAL archiving is read through the pgBackRest configuration (reported when it exists).
	if s.WAL, _, err = d.physical(""); err != nil {
		return s, close, err
	}
	if cfg.DatabaseURL != "" {
		s.WALOptions.DatabaseURL = cfg.DatabaseURL.Reveal()
	}
	if cfg.S3Bucket != "" {
		if s.Backups, err = d.backupCatalogue(ctx); err != nil {
			if err := unavailable(stack.S3, err); err != nil {
				return s, close, err
			}
		}
	}
	return s, close, nil
}

// backupCatalogue opens the backup catalogue for status and doctor.
func (d *deps) backupCatalogue(ctx context.Context) (stack.BackupCatalogue, error) {
	return d.openStatusCatalogue(ctx)
}
