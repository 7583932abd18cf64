package stack

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/migrations"
	"github.com/quantx/quantx-db/partitions"
	"github.com/quantx/quantx-db/roles"
)

// Store names, in provisioning order.
const (
	Postgres = "postgres"
	Influx   = "influx"
	Elastic  = "elastic"
	S3       = "s3"
)

// Stores are the connected store clients. A nil field means the store is
// not configured: it is skipped with a note, never an error.
type Stores struct {
	Postgres   *pgxpool.Pool
	Migrations *migrations.Runner   // required with Postgres
	Partitions *partitions.Manager  // required with Postgres
	Influx     *influx.Provisioner  // nil: InfluxDB not configured
	Elastic    *elastic.Provisioner // nil: search not configured
	Backups    BackupCatalogue      // nil: S3 not configured
	Roles      *roles.Manager       // nil: provision leaves roles alone
	// WAL reads WAL archiving through the pgBackRest configuration, which
	// can be read without a database connection; nil: not reported. A
	// configuration file that does not exist is reported as not set up.
	WAL        *backup.Physical
	WALOptions backup.WALStatusOptions

	// Unavailable holds the configured stores whose client could not be
	// opened (server down, bad credentials), by store name. Provision, Status
	// and the doctor report them as failed, never as "not configured".
	Unavailable map[string]error
}

// unavailable returns the error that kept a configured store from opening.
func (s Stores) unavailable(store string) error {
	if err := s.Unavailable[store]; err != nil {
		return storeErr(store, err)
	}
	return nil
}

// configured reports whether a store has a client.
func (s Stores) configured(store string) bool {
	switch store {
	case Postgres:
		return s.Postgres != nil && s.Migrations != nil && s.Partitions != nil
	case Influx:
		return s.Influx != nil
	case Elastic:
		return s.Elastic != nil
	case S3:
		return s.Backups != nil
	}
	return false
}
