package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
	"github.com/quantx/quantx-db/internal/report"
)

func newWALSetupCmd(d *deps) *cobra.Command {
	var (
		o              backup.SetupOptions
		passphraseFile string
		options        []string
	)
	cmd := &cobra.Command{
		Use:   "setup --pgdata DIR",
		Short: "Archive the cluster's WAL with pgBackRest into the backup bucket (idempotent)",
		Long: `Run on the database host as the data directory's owner (never root), with the
server running. In order:

 1. writes the pgBackRest configuration (--pgbackrest-config, mode 0600: it
    holds the S3 secret) with the repository in the configured bucket under
    <--s3-prefix>pgbackrest/, and this cluster as the stanza (--stanza);
 2. sets wal_level (replica, unless already logical), archive_mode = on,
    archive_command (pgbackrest archive-push) and archive_timeout with ALTER
    SYSTEM, and reloads;
 3. creates the stanza (or checks the existing one matches this cluster);
 4. runs 'pgbackrest check' (a WAL switch archived end to end).

archive_mode and wal_level take effect only after a restart, which wal setup
never does: it says RESTART REQUIRED, skips the check, and the next run after
the restart checks. A second run with the same settings changes nothing.

--repo-passphrase-file encrypts the repository (aes-256-cbc), backups and WAL;
it can only be chosen when the stanza is created. Lose the passphrase and the
backups are lost: keep a copy outside the database host.`,
		Example: `  sudo -u postgres quantx-db wal setup --pgdata /var/lib/postgresql/15/main
  sudo -u postgres quantx-db wal setup --pgdata /srv/pg --pgbackrest-config /srv/pgbackrest.conf \
      --repo-passphrase-file /etc/quantx/repo.pass --pgbackrest-option process-max=4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if o.PGData == "" {
				return usagef("name the data directory: --pgdata DIR", "no data directory")
			}
			opts, err := parseOptions(options)
			if err != nil {
				return err
			}
			o.Options = opts
			// Refuse root and strangers before anything is read or written.
			if err := backup.CheckOwner(o.PGData); err != nil {
				return within(scopePhysical, err)
			}
			p, cfg, err := d.physical("")
			if err != nil {
				return err
			}
			if cfg.S3Endpoint == "" || cfg.S3Bucket == "" || cfg.S3AccessKey == "" || cfg.S3SecretKey == "" {
				return usagef("set --s3-endpoint, --s3-bucket, --s3-access-key and --s3-secret-key (QUANTX_S3_*): WAL goes to the backup bucket",
					"no S3 bucket configured")
			}
			if !cfg.S3TLS {
				return backup.ErrPlainS3
			}
			o.Repo = backup.RepoConfig{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Prefix: cfg.S3Prefix, Region: cfg.S3Region,
				AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey.Reveal(), CAFile: cfg.S3CAFile}
			if passphraseFile != "" {
				b, err := os.ReadFile(passphraseFile)
				if err != nil {
					return usageErr(err, "--repo-passphrase-file names a file holding the repository passphrase")
				}
				o.Repo.CipherPass = strings.TrimRight(string(b), "\r\n")
				if len(o.Repo.CipherPass) < 20 {
					return usagef("use a long random passphrase, e.g. 'openssl rand -base64 48 > FILE'", "the passphrase in %s is shorter than 20 characters", passphraseFile)
				}
			}
			if cfg.DatabaseURL != "" && d.flags.Changed("database-url") {
				o.DatabaseURL = cfg.DatabaseURL.Reveal()
			}
			res, err := p.Setup(ctx, o)
			if err != nil {
				return within(scopePhysical, err)
			}
			if res.RestartRequired {
				d.logger.Warn("restart required", "settings", "archive_mode/wal_level", "pgdata", res.PGData)
			}
			return d.render(res, func() output.Table { return walSetupTable(res, cmd.CommandPath()) })
		},
	}
	cmd.Flags().StringVar(&o.PGData, "pgdata", "", "the cluster's data `DIR` (the server must be running)")
	cmd.Flags().DurationVar(&o.ArchiveTimeout, "archive-timeout", 60*time.Second, "archive_timeout: switch WAL segments at least this often when there is activity (bounds what an archive misses)")
	cmd.Flags().StringVar(&passphraseFile, "repo-passphrase-file", "", "encrypt the repository (aes-256-cbc) with the passphrase in `FILE`; only when the stanza is created")
	cmd.Flags().StringArrayVar(&options, "pgbackrest-option", nil, "extra pgBackRest `KEY=VALUE` for [global] (process-max=4, compress-type=zst, ...); repeatable")
	cmd.Flags().StringVar(&o.LogPath, "log-path", "", "pgBackRest log `DIR` (default /var/log/pgbackrest)")
	cmd.Flags().StringVar(&o.LockPath, "lock-path", "", "pgBackRest lock `DIR` (default /tmp/pgbackrest)")
	cmd.Flags().StringVar(&o.SpoolPath, "spool-path", "", "pgBackRest spool `DIR` (default /var/spool/pgbackrest)")
	return cmd
}

// parseOptions reads --pgbackrest-option KEY=VALUE flags.
func parseOptions(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " []\n") || strings.ContainsAny(v, "\n\r") {
			return nil, usagef("give pgBackRest options as KEY=VALUE, e.g. --pgbackrest-option process-max=4", "--pgbackrest-option %q is not KEY=VALUE", kv)
		}
		if strings.HasPrefix(k, "repo1-") || strings.HasPrefix(k, "pg1-") {
			return nil, usagef("the repository and the cluster come from quantx-db's settings (--s3-*, --pgdata)", "--pgbackrest-option %s: quantx-db writes %s itself", k, k)
		}
		out[k] = v
	}
	return out, nil
}

func walSetupTable(r backup.SetupResult, cmdPath string) output.Table {
	t := output.Table{Header: []string{"SETTING", "VALUE", "STATE"}}
	for _, s := range r.Settings {
		state, sev := "ok", report.SeverityOK
		if s.Changed {
			state = fmt.Sprintf("changed (was %q)", s.Was) // done by this run
		}
		if s.RestartRequired {
			state, sev = state+", restart required", report.SeverityAction
		}
		t.Row(sev, s.Name, s.Want, state)
	}
	conf := "unchanged"
	if r.ConfigChanged {
		conf = "written"
	}
	stanza := "exists"
	if r.StanzaCreated {
		stanza = "created"
	}
	enc := "unencrypted"
	if r.Encrypted {
		enc = "encrypted"
	}
	t.Notes = append(t.Notes,
		fmt.Sprintf("pgBackRest configuration %s: %s", r.ConfigFile, conf),
		fmt.Sprintf("stanza %s %s, repository %s (%s)", r.Stanza, stanza, r.Repository, enc))
	switch {
	case r.RestartRequired:
		t.Notes = append(t.Notes, fmt.Sprintf("RESTART REQUIRED: archive_mode/wal_level take effect after a restart of PostgreSQL; "+
			"until then no WAL is archived. Restart it, then run '%s --pgdata %s' again to check archiving end to end", cmdPath, r.PGData))
	case r.Checked:
		t.Notes = append(t.Notes, "check passed: a WAL segment was archived to the repository")
	}
	if !r.Changed {
		t.Notes = append(t.Notes, "nothing changed")
	}
	return t
}
