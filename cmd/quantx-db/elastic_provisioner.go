package main

import (
	"context"
	"io/fs"
	"os"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/progress"
)

// elasticProvisioner connects to the configured search server. The global
// status and provision commands call it with a zero elasticFlags.
func (d *deps) elasticProvisioner(ctx context.Context, f *elasticFlags, prog progress.Func) (*elastic.Provisioner, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, err
	}
	if cfg.ElasticURL == "" {
		return nil, usagef("set --elastic-url or QUANTX_ELASTIC_URL", "no Elasticsearch/OpenSearch URL configured")
	}
	var defs fs.FS
	if f.defsDir != "" {
		if st, err := os.Stat(f.defsDir); err != nil || !st.IsDir() {
			return nil, usagef("--defs names a directory with components/ and indices/", "--defs %s is not a directory", f.defsDir)
		}
		defs = os.DirFS(f.defsDir)
	}
	p, err := elastic.New(ctx, elastic.Options{
		URL:      cfg.ElasticURL.Reveal(),
		Engine:   elastic.Engine(cfg.ElasticEngine),
		Prefix:   f.prefix,
		Defs:     defs,
		Logger:   d.logger,
		Now:      d.now,
		Progress: prog,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
