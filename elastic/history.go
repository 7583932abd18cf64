package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Record is what the history index keeps for one definition: the version and
// checksum that were last applied. An edited definition has a new checksum, so
// Status reports it as changed until Setup (or Reindex) applies it.
type Record struct {
	Kind          string    `json:"kind"`
	Name          string    `json:"name"`
	Version       int       `json:"version"`
	Checksum      string    `json:"checksum"`
	PhysicalIndex string    `json:"physical_index,omitempty"`
	Engine        Engine    `json:"engine"`
	AppliedAt     time.Time `json:"applied_at"`
}

func (r Record) id() string { return r.Kind + ":" + r.Name }

const historyBody = `{
  "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
  "mappings": {"dynamic": "strict", "properties": {
    "kind": {"type": "keyword"}, "name": {"type": "keyword"}, "version": {"type": "integer"},
    "checksum": {"type": "keyword"}, "physical_index": {"type": "keyword"}, "engine": {"type": "keyword"},
    "applied_at": {"type": "date"}}}
}`

// history reads every record, keyed by kind:name. A missing history index
// means nothing was applied yet.
func (p *Provisioner) history(ctx context.Context) (map[string]Record, bool, error) {
	out := map[string]Record{}
	body, err := p.b.search(ctx, p.defs.HistoryIndex(), []byte(`{"size": 1000, "query": {"match_all": {}}}`), 0)
	if errors.Is(err, ErrNotFound) {
		return out, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var res searchResult
	if err := jsonUnmarshal(body, &res); err != nil {
		return nil, false, err
	}
	for _, h := range res.Hits.Hits {
		var r Record
		if err := json.Unmarshal(h.Source, &r); err == nil {
			out[r.id()] = r
		}
	}
	return out, true, nil
}

func (p *Provisioner) record(ctx context.Context, r Record) error {
	r.Engine, r.AppliedAt = p.engine, p.now().UTC()
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return p.b.putDocument(ctx, p.defs.HistoryIndex(), r.id(), body, true)
}

// searchResult is the part of a search (or scroll) answer this package reads.
type searchResult struct {
	ScrollID string `json:"_scroll_id"`
	Hits     struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []hit `json:"hits"`
	} `json:"hits"`
}

type hit struct {
	Index       string          `json:"_index"`
	ID          string          `json:"_id"`
	Routing     *string         `json:"_routing"`
	SeqNo       *int64          `json:"_seq_no"`
	PrimaryTerm *int64          `json:"_primary_term"`
	Found       *bool           `json:"found"` // mget only
	Source      json.RawMessage `json:"_source"`
}
