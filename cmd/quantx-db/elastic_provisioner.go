package main

import (
	"context"
	"errors"
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
		return nil, elasticErr(err)
	}
	return p, nil
}

// elasticErr adds the hint an operator needs to an elastic library error.
func elasticErr(err error) error {
	if err == nil {
		return nil
	}
	se, isServer := errors.AsType[*elastic.ServerError](err)
	switch {
	case errors.Is(err, elastic.ErrUnreachable):
		return failure(err, "is the search server running and reachable at --elastic-url?")
	case errors.Is(err, elastic.ErrUnauthorized):
		return failure(err, "check the user and password in --elastic-url (https://user:password@host:9200)")
	case errors.Is(err, elastic.ErrUnknownEngine):
		return failure(err, "set --elastic-engine elasticsearch or opensearch")
	case errors.Is(err, elastic.ErrInvalidName), errors.Is(err, elastic.ErrBadDefinition), errors.Is(err, elastic.ErrUnknownIndex):
		return usageErr(err, "")
	case errors.Is(err, elastic.ErrNotSetUp):
		return failure(err, "run 'quantx-db elastic setup' first")
	case errors.Is(err, elastic.ErrVerifyFailed):
		return failure(err, "readers and writers were not switched; rerun 'quantx-db elastic reindex' to resume")
	case errors.Is(err, elastic.ErrWriteBlockTimeout):
		return failure(err, "writes resumed on the old index; rerun at a quieter time or with a larger --max-write-block")
	case errors.Is(err, elastic.ErrWriteBlocked):
		return failure(err, "'quantx-db elastic setup' lifts the block (writers come first); then rerun the reindex")
	case errors.Is(err, elastic.ErrTargetExists):
		return failure(err, "delete the index named above (curl -X DELETE URL/INDEX), then rerun 'quantx-db elastic reindex'")
	case errors.Is(err, elastic.ErrSplitAliases):
		return failure(err, "point both aliases at one index (POST _aliases), then rerun")
	case isServer && se.Status == 400:
		return failure(err, "the server rejected a definition: fix it (see docs/elastic.md), then rerun")
	}
	return err
}
