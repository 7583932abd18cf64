package main

import (
	"fmt"
	"os"

	"github.com/quantx/quantx-db/influx"
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
