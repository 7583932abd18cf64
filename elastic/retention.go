package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// inspectRetention decides rollover and deletion for a time-based index.
// With ILM or ISM the engine does both and this only reports; without them
// (the integ-test distributions) Setup does them itself, so it must run
// regularly (cron), like `partitions ensure`.
func (p *Provisioner) inspectRetention(ctx context.Context, x *Index, f *features) (RetentionStatus, []Action, error) {
	rs := RetentionStatus{Index: x.Name, Mode: retentionMode(f), ExpiredGenerations: []string{}}
	if x.Retention == nil {
		rs.Mode, rs.Detail = "none", "no retention in the definition"
		return rs, nil, nil
	}
	gens, err := p.getIndices(ctx, x.Pattern())
	if err != nil {
		return rs, nil, err
	}
	_, write, err := p.aliasTargets(ctx, x.WriteAlias())
	if err != nil {
		return rs, nil, err
	}
	rs.WriteIndex, rs.Generations = write, len(gens)
	if write == "" {
		rs.Detail = "not set up"
		return rs, nil, nil
	}
	var writeLive *liveIndex
	for i := range gens {
		if gens[i].Name == write {
			writeLive = &gens[i]
		}
	}
	if f.lifecycle != "" {
		rs.Policy = x.PolicyName()
		if writeLive != nil {
			s := flatSettings(writeLive.Settings)
			if f.lifecycle == "ilm" {
				rs.Attached = s["lifecycle.name"] == x.PolicyName()
			} else {
				// ISM attaches through the policy's ism_template when an index is created.
				rs.Attached = s["plugins.index_state_management.rollover_alias"] == x.WriteAlias()
			}
		}
		rs.Detail = fmt.Sprintf("%s policy %s: rollover at %s or %d docs, delete %s after rollover",
			f.lifecycle, x.PolicyName(), x.Retention.RolloverMaxAge, x.Retention.RolloverMaxDocs, x.Retention.DeleteAfter)
		return rs, nil, nil
	}

	rs.Attached = true
	maxAge, _ := x.Retention.RolloverMaxAge.Parse()
	deleteAfter, _ := x.Retention.DeleteAfter.Parse()
	now := p.now()
	var acts []Action
	if writeLive != nil {
		age := now.Sub(writeLive.creationDate())
		docs, err := p.count(ctx, write)
		if err != nil {
			return rs, nil, err
		}
		if age >= maxAge || (x.Retention.RolloverMaxDocs > 0 && docs >= x.Retention.RolloverMaxDocs) {
			rs.RolloverDue = true
			why := fmt.Sprintf("%s is %s old with %d docs (limits %s, %d)", write, age.Truncate(time.Second), docs, x.Retention.RolloverMaxAge, x.Retention.RolloverMaxDocs)
			acts = append(acts, Action{Kind: "rollover", Name: x.WriteAlias(), Op: opRollover, Detail: why})
		}
	}
	// A generation stops receiving writes when the next one is created: its
	// age for deletion counts from then, as ILM's delete phase counts from rollover.
	slices.SortFunc(gens, func(a, b liveIndex) int { return a.creationDate().Compare(b.creationDate()) })
	for i := 0; i+1 < len(gens); i++ {
		g := gens[i]
		if g.Name == write {
			continue
		}
		rolled := gens[i+1].creationDate()
		if now.Sub(rolled) >= deleteAfter {
			rs.ExpiredGenerations = append(rs.ExpiredGenerations, g.Name)
			acts = append(acts, Action{Kind: "delete_index", Name: g.Name, Op: opDelete,
				Detail: fmt.Sprintf("rolled over %s, retention %s", rolled.Format(time.RFC3339), x.Retention.DeleteAfter)})
		}
	}
	rs.Detail = fmt.Sprintf("setup rolls over at %s or %d docs and deletes %s after rollover",
		x.Retention.RolloverMaxAge, x.Retention.RolloverMaxDocs, x.Retention.DeleteAfter)
	return rs, acts, nil
}

func (p *Provisioner) count(ctx context.Context, index string) (int64, error) {
	body, err := p.b.search(ctx, index, []byte(`{"size": 0, "track_total_hits": true}`), 0)
	if err != nil {
		return 0, err
	}
	var res searchResult
	if err := jsonUnmarshal(body, &res); err != nil {
		return 0, err
	}
	return res.Hits.Total.Value, nil
}

// policyBody is the ILM or ISM policy of a time-based index.
func policyBody(x *Index, lifecycle string) map[string]any {
	r := x.Retention
	if lifecycle == "ilm" {
		rollover := map[string]any{"max_age": string(r.RolloverMaxAge)}
		if r.RolloverMaxDocs > 0 {
			rollover["max_docs"] = r.RolloverMaxDocs
		}
		return map[string]any{"policy": map[string]any{
			"_meta": map[string]any{"managed_by": "quantx-db", "checksum": x.Checksum},
			"phases": map[string]any{
				"hot":    map[string]any{"actions": map[string]any{"rollover": rollover}},
				"delete": map[string]any{"min_age": string(r.DeleteAfter), "actions": map[string]any{"delete": map[string]any{}}},
			},
		}}
	}
	rollover := map[string]any{"min_index_age": string(r.RolloverMaxAge)}
	if r.RolloverMaxDocs > 0 {
		rollover["min_doc_count"] = r.RolloverMaxDocs
	}
	return map[string]any{"policy": map[string]any{
		"description":   "quantx-db retention for " + x.Base + " (" + x.Checksum + ")",
		"default_state": "hot",
		"states": []any{
			map[string]any{"name": "hot", "actions": []any{map[string]any{"rollover": rollover}},
				"transitions": []any{map[string]any{"state_name": "delete", "conditions": map[string]any{"min_rollover_age": string(r.DeleteAfter)}}}},
			map[string]any{"name": "delete", "actions": []any{map[string]any{"delete": map[string]any{}}}, "transitions": []any{}},
		},
		"ism_template": []any{map[string]any{"index_patterns": []any{x.Pattern()}, "priority": 100}},
	}}
}

// policyAction creates or updates the ILM/ISM policy when it differs.
func (p *Provisioner) policyAction(ctx context.Context, x *Index, f *features) (*Action, error) {
	want := policyBody(x, f.lifecycle)
	act := putAction("lifecycle_policy", x.PolicyName(), opCreate, f.lifecycle+" policy missing", want)
	live, err := p.b.getPolicy(ctx, x.PolicyName())
	if errors.Is(err, ErrNotFound) {
		return &act, nil
	}
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := jsonUnmarshal(live, &doc); err != nil {
		return nil, err
	}
	raw := doc["policy"]      // ISM: {"_id", "policy": {...}}
	if f.lifecycle == "ilm" { // ILM: {"<name>": {"policy": {...}}}
		var named struct {
			Policy json.RawMessage `json:"policy"`
		}
		_ = json.Unmarshal(doc[x.PolicyName()], &named)
		raw = named.Policy
	}
	var got any
	_ = json.Unmarshal(raw, &got)
	d := compare(flatten(want["policy"]), flatten(got), true)
	if d.empty() {
		return nil, nil
	}
	act.Op, act.Detail = opUpdate, d.String()
	return &act, nil
}
