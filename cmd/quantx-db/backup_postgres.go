package main

import (
	"github.com/spf13/cobra"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/output"
)

func newBackupPostgresCmd(d *deps) *cobra.Command {
	var (
		cf                                               catalogueFlags
		encryptTo, binDir                                string
		withPasswords, skipGlobals, checksum, skipCounts bool
		compress                                         int
	)
	cmd := &cobra.Command{
		Use:   "postgres",
		Short: "Stream pg_dump -Fc of --database-url into the S3 bucket, with row counts and a manifest",
		Long: `pg_dump -Fc is piped straight into a multipart upload (16 MiB parts, no
temporary file; memory stays flat whatever the database size). The dump object
stays a plain pg_dump archive unless --encrypt-to is given, so pg_restore can
read it directly. pg_dumpall --globals-only (roles without passwords unless
--with-role-passwords) is stored beside it, and the manifest records an exact
row count per table, taken in the same snapshot as the dump.

pg_dump must have the server's major version: PATH is tried, then Debian's
/usr/lib/postgresql/<major>/bin; --pg-bindir names the folder explicitly.`,
		Example: `  quantx-db backup postgres
  quantx-db backup postgres --encrypt-to age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  quantx-db backup postgres --compress 1 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := d.config()
			if err != nil {
				return err
			}
			if cfg.DatabaseURL == "" {
				return usagef("set --database-url or QUANTX_DATABASE_URL", "no database to back up")
			}
			if compress < 0 || compress > 9 {
				return usagef("use 1 (fast) to 9 (small), or 0 for pg_dump's default", "--compress %d out of range", compress)
			}
			o := backup.PostgresBackup{DatabaseURL: cfg.DatabaseURL.Reveal(), Tools: backup.PGTools{BinDir: binDir},
				WithRolePasswords: withPasswords, SkipGlobals: skipGlobals, Checksums: checksum, Compress: compress, SkipCounts: skipCounts}
			if o.Recipients, err = recipients(encryptTo); err != nil {
				return err
			}
			return d.takeBackup(ctx, &cf, func(cat *backup.Catalogue) (backup.Manifest, error) { return cat.BackupPostgres(ctx, o) })
		},
	}
	cf.addStale(cmd)
	encryptToFlag(cmd, &encryptTo)
	cmd.Flags().StringVar(&binDir, "pg-bindir", "", "`DIR` holding pg_dump and pg_dumpall of the server's major version")
	cmd.Flags().BoolVar(&withPasswords, "with-role-passwords", false, "keep role password hashes in globals.sql")
	cmd.Flags().BoolVar(&skipGlobals, "skip-globals", false, "do not run pg_dumpall --globals-only (managed services that refuse it)")
	cmd.Flags().BoolVar(&checksum, "checksums", false, "record a per-table checksum too (reads every row again; for databases of a few GB)")
	cmd.Flags().BoolVar(&skipCounts, "skip-counts", false, "do not count rows (saves ~5% time; restore --verify then has nothing to compare)")
	cmd.Flags().IntVar(&compress, "compress", 0, "pg_dump -Z `LEVEL` 1-9 (0: pg_dump's default; 1 is about twice as fast)")
	return cmd
}

func manifestTable(m backup.Manifest) output.Table {
	t := output.Table{Header: []string{"ID", "KIND", "DATABASE", "SIZE", "ENCRYPTION", "TABLES", "DURATION"}}
	t.Rows = append(t.Rows, []string{m.ID, string(m.Kind), m.Database, output.Bytes(m.Size), m.Encryption,
		itoaOrDash(len(m.TableCounts)), m.FinishedAt.Sub(m.StartedAt).Round(1e6).String()})
	t.Notes = []string{"object " + m.Key + " sha256 " + m.SHA256}
	return t
}

func itoaOrDash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmtInt(int64(n))
}
