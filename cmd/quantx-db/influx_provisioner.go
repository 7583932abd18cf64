package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/quantx/quantx-db/influx"
	"github.com/quantx/quantx-db/internal/influxclient"
)

// influxDesired loads the desired state: --file or the built-in one, with --database and
// --late-tolerance (else QUANTX_INFLUX_LATE_TOLERANCE) applied.
func (d *deps) influxDesired(f *influxFlags) (influx.Desired, error) {
	desired, err := influxDesiredFile(f)
	if err != nil {
		return desired, err
	}
	v, from := f.lateTolerance, "--late-tolerance"
	if v == "" {
		v, from = d.getenv("QUANTX_INFLUX_LATE_TOLERANCE"), "QUANTX_INFLUX_LATE_TOLERANCE"
	}
	if v != "" {
		t, err := influx.ParseDuration(v)
		if err != nil {
			return desired, usageErr(fmt.Errorf("%s: %w", from, err), "for example 90m, 2h or 1d; 0 for none")
		}
		desired.LateTolerance = t
		if err := desired.Validate(); err != nil {
			return desired, usageErr(err, "")
		}
	}
	return desired, nil
}

func influxDesiredFile(f *influxFlags) (influx.Desired, error) {
	d := influx.DefaultDesired()
	if f.file != "" {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return d, usageErr(err, "--file names the desired-state YAML")
		}
		if d, err = influx.ParseDesired(b); err != nil {
			return d, usageErr(fmt.Errorf("%s: %w", f.file, err), "fix the file; 'quantx-db influx schema -o json' shows the built-in state")
		}
	}
	if f.database != "" {
		d.Database = f.database
		if err := d.Validate(); err != nil {
			return d, usageErr(err, "")
		}
	}
	return d, nil
}

// influxProvisioner builds the provisioner from the connection settings.
func (d *deps) influxProvisioner(f *influxFlags) (*influx.Provisioner, error) {
	desired, err := d.influxDesired(f)
	if err != nil {
		return nil, err
	}
	cfg, err := d.config()
	if err != nil {
		return nil, err
	}
	if cfg.InfluxURL == "" {
		return nil, usagef("set --influx-url or QUANTX_INFLUX_URL", "no InfluxDB URL configured")
	}
	p, err := influx.New(influx.Options{
		URL:     cfg.InfluxURL.Reveal(),
		Token:   cfg.InfluxToken.Reveal(),
		Org:     cfg.InfluxOrg,
		Desired: &desired,
		Logger:  d.logger,
	})
	if err != nil {
		return nil, usageErr(err, "")
	}
	return p, nil
}

// influxConnErr adds the hint to an error of talking to an InfluxDB server (every command that
// does: influx verbs, backup and restore influx); token says which token the command needs. It
// returns nil when err is none of these.
func influxConnErr(err error, token string) error {
	switch {
	case errors.Is(err, influxclient.ErrUnreachable):
		return failure(err, "is InfluxDB running and reachable at --influx-url?")
	case errors.Is(err, influxclient.ErrUnauthorized):
		return failure(err, "check --influx-token: user:password on 1.x, "+token+" on 2.x")
	case errors.Is(err, influxclient.ErrUnknownVersion):
		return failure(err, "is --influx-url an InfluxDB server?")
	case errors.Is(err, influxclient.ErrUnsupportedVersion):
		return failure(err, "quantx-db works with InfluxDB 1.x and 2.x; is --influx-url the right server?")
	}
	return nil
}

// influxErr adds the hint a DBA needs to an influx library error.
func influxErr(err error) error {
	if ce := influxConnErr(err, "an API token with write access"); ce != nil {
		return ce
	}
	switch {
	case errors.Is(err, influx.ErrNoOrg):
		return failure(err, "set --influx-org (QUANTX_INFLUX_ORG) to an existing 2.x organisation")
	case errors.Is(err, influx.ErrInvalidDesired), errors.Is(err, influx.ErrBackfillRange):
		return usageErr(err, "")
	case errors.Is(err, influx.ErrNotInSync):
		return failure(err, "run 'quantx-db influx setup' first (review with 'quantx-db influx setup --dry-run')")
	case errors.Is(err, influx.ErrFieldTypeConflict):
		return failure(err, "the writer must send the contract's types: see 'quantx-db influx schema'")
	}
	return err
}
