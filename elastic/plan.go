package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Action is one step of a plan, as data: Setup sends every action except
// "reindex_required", which only Reindex can resolve, with run.
type Action struct {
	Kind   string `json:"kind"`   // component_template, index_template, lifecycle_policy, index, alias, mapping, settings, rollover, delete_index, history
	Name   string `json:"name"`   // server-side name
	Op     string `json:"op"`     // create, update, rollover, delete, record, reindex_required
	Detail string `json:"detail"` // why, in one line

	body   any     // the request body Setup sends (marshalled to JSON when sent); nil for none
	record *Record // the history entry of a "history" action
}

// runnable reports whether Setup does the action.
func (a Action) runnable() bool { return a.Op != opReindex }

// run sends one action to the server. Plans are data; this is the one place
// that turns an action into its call.
func (p *Provisioner) run(ctx context.Context, a Action) error {
	if a.Kind == "history" {
		return p.record(ctx, *a.record)
	}
	var body []byte
	if a.body != nil {
		var err error
		if body, err = json.Marshal(a.body); err != nil {
			return fmt.Errorf("%s %s: %w", a.Kind, a.Name, err)
		}
	}
	switch a.Kind {
	case "component_template":
		return p.b.putComponentTemplate(ctx, a.Name, body)
	case "index_template":
		return p.b.putIndexTemplate(ctx, a.Name, body)
	case "lifecycle_policy":
		return p.b.putPolicy(ctx, a.Name, body)
	case "index":
		return p.b.createIndex(ctx, a.Name, body)
	case "mapping":
		return p.b.putMapping(ctx, a.Name, body)
	case "settings":
		return p.b.putSettings(ctx, a.Name, body)
	case "alias":
		return p.b.updateAliases(ctx, body)
	case "rollover":
		_, err := p.b.rollover(ctx, a.Name, nil)
		return err
	case "delete_index":
		return p.b.deleteIndex(ctx, a.Name)
	}
	return fmt.Errorf("search action %s %s: no such kind", a.Kind, a.Name)
}

// Plan lists what Setup would do, in order.
type Plan struct {
	Engine        Engine   `json:"engine"`
	RetentionMode string   `json:"retention_mode"` // ilm, ism or client
	Actions       []Action `json:"actions"`
}

// Pending reports whether Setup has anything to do.
func (pl Plan) Pending() bool {
	for _, a := range pl.Actions {
		if a.runnable() {
			return true
		}
	}
	return false
}

// ReindexRequired lists the logical indices whose live mapping or settings the
// engine cannot change in place.
func (pl Plan) ReindexRequired() []Action {
	out := []Action{}
	for _, a := range pl.Actions {
		if a.Op == opReindex {
			out = append(out, a)
		}
	}
	return out
}

// OpReindexRequired is the op of an action Setup does not do: only Reindex
// resolves it.
const OpReindexRequired = opReindex

const (
	opCreate   = "create"
	opUpdate   = "update"
	opRecord   = "record"
	opReindex  = "reindex_required"
	opRollover = "rollover"
	opDelete   = "delete"
)

// features is what the server offers beyond its core, probed once.
type features struct {
	lifecycle string // "ilm", "ism" or "" (the tool's own rollover and delete)
}

func (p *Provisioner) features(ctx context.Context) (*features, error) {
	if p.feat != nil {
		return p.feat, nil
	}
	lc, err := p.b.lifecycle(ctx)
	if err != nil {
		return nil, err
	}
	p.feat = &features{lifecycle: lc}
	return p.feat, nil
}

func retentionMode(f *features) string {
	if f.lifecycle == "" {
		return "client"
	}
	return f.lifecycle
}

// Plan compares the definitions with the server and lists what Setup would do.
// It changes nothing.
func (p *Provisioner) Plan(ctx context.Context) (Plan, error) {
	in, err := p.inspect(ctx)
	if err != nil {
		return Plan{}, err
	}
	return in.plan, nil
}

// Setup applies the plan: templates and policies are created or updated, the
// current version's index and its aliases are created when missing, additive
// mapping and dynamic settings changes are applied in place, retention runs
// where the tool owns it, and the history records what was applied. Changes
// that need a new index are left in the returned plan as "reindex_required".
// Running it again with nothing changed returns an empty plan.
func (p *Provisioner) Setup(ctx context.Context) (Plan, error) {
	in, err := p.inspect(ctx)
	if err != nil {
		return Plan{}, err
	}
	for _, a := range in.plan.Actions {
		if !a.runnable() {
			continue
		}
		if err := p.run(ctx, a); err != nil {
			return in.plan, err // the backend's error already names the operation and its subject
		}
		p.log.InfoContext(ctx, "search action applied", "kind", a.Kind, "index", a.Name, "op", a.Op)
	}
	return in.plan, nil
}

// inspection is the comparison both Plan and Status are built from.
type inspection struct {
	plan   Plan
	items  []ItemStatus
	retent []RetentionStatus
}

func (p *Provisioner) inspect(ctx context.Context) (*inspection, error) {
	f, err := p.features(ctx)
	if err != nil {
		return nil, err
	}
	hist, histExists, err := p.history(ctx)
	if err != nil {
		return nil, err
	}
	in := &inspection{plan: Plan{Engine: p.engine, RetentionMode: retentionMode(f), Actions: []Action{}},
		items: []ItemStatus{}, retent: []RetentionStatus{}}
	var records []Action
	needRecord := func(kind, name string, version int, sum, physical string) (string, bool) {
		r, ok := hist[kind+":"+name]
		switch {
		case !ok:
			records = append(records, p.recordAction(Record{Kind: kind, Name: name, Version: version, Checksum: sum, PhysicalIndex: physical}, "not in history"))
			return "", true
		case r.Checksum != sum || r.Version != version || (physical != "" && r.PhysicalIndex != physical):
			records = append(records, p.recordAction(Record{Kind: kind, Name: name, Version: version, Checksum: sum, PhysicalIndex: physical},
				fmt.Sprintf("history has v%d %s", r.Version, short(r.Checksum))))
			return fmt.Sprintf("definition edited since applied (history v%d %s, now v%d %s)", r.Version, short(r.Checksum), version, short(sum)), true
		}
		return "", false
	}

	// Component templates first: index templates refer to them.
	for i := range p.defs.Components {
		c := &p.defs.Components[i]
		st := ItemStatus{Kind: "component_template", Name: c.Name, ServerName: c.FullName, Version: c.Version, State: StateOK}
		st.AppliedVersion = hist["component_template:"+c.Name].Version
		want := p.componentBody(c)
		live, err := p.b.getComponentTemplate(ctx, c.FullName)
		switch {
		case errors.Is(err, ErrNotFound):
			st.State, st.Detail = StateMissing, "not on the server"
			in.plan.Actions = append(in.plan.Actions, putAction("component_template", c.FullName, opCreate, "missing", want))
		case err != nil:
			return nil, err
		default:
			d, err := templateDiff(want, live, "component_templates", "component_template")
			if err != nil {
				return nil, fmt.Errorf("component template %s: %w", c.FullName, err)
			}
			if !d.empty() {
				st.State, st.Detail = StateDrift, d.String()
				in.plan.Actions = append(in.plan.Actions, putAction("component_template", c.FullName, opUpdate, d.String(), want))
			}
		}
		if msg, rec := needRecord("component_template", c.Name, c.Version, c.Checksum, ""); rec && msg != "" {
			st.State, st.Detail = StateChanged, joinDetail(msg, st.Detail)
		}
		in.items = append(in.items, st)
	}

	for i := range p.defs.Indices {
		x := &p.defs.Indices[i]
		want := p.indexTemplateBody(x, f)
		st := ItemStatus{Kind: "index_template", Name: x.Name, ServerName: x.Base, Version: x.Version, State: StateOK,
			AppliedVersion: hist["index:"+x.Name].Version} // applied together with its index
		live, err := p.b.getIndexTemplate(ctx, x.Base)
		switch {
		case errors.Is(err, ErrNotFound):
			st.State, st.Detail = StateMissing, "not on the server"
			in.plan.Actions = append(in.plan.Actions, putAction("index_template", x.Base, opCreate, "missing", want))
		case err != nil:
			return nil, err
		default:
			d, err := templateDiff(want, live, "index_templates", "index_template")
			if err != nil {
				return nil, fmt.Errorf("index template %s: %w", x.Base, err)
			}
			if !d.empty() {
				st.State, st.Detail = StateDrift, d.String()
				in.plan.Actions = append(in.plan.Actions, putAction("index_template", x.Base, opUpdate, d.String(), want))
			}
		}
		in.items = append(in.items, st)
	}

	for i := range p.defs.Indices {
		x := &p.defs.Indices[i]
		if x.TimeBased && x.Retention != nil && f.lifecycle != "" {
			a, err := p.policyAction(ctx, x, f)
			if err != nil {
				return nil, err
			}
			if a != nil {
				in.plan.Actions = append(in.plan.Actions, *a)
			}
		}
	}

	if !histExists {
		in.plan.Actions = append(in.plan.Actions, Action{Kind: "index", Name: p.defs.HistoryIndex(), Op: opCreate, Detail: "history of applied definitions",
			body: json.RawMessage(historyBody)})
	}

	for i := range p.defs.Indices {
		x := &p.defs.Indices[i]
		st, acts, err := p.inspectIndex(ctx, x, f)
		if err != nil {
			return nil, err
		}
		in.plan.Actions = append(in.plan.Actions, acts...)
		st.AppliedVersion = hist["index:"+x.Name].Version
		blocked := slices.ContainsFunc(acts, func(a Action) bool { return a.Op == opReindex })
		if !blocked {
			if msg, rec := needRecord("index", x.Name, x.Version, x.Checksum, st.PhysicalIndex); rec && msg != "" && st.State == StateOK {
				st.State, st.Detail = StateChanged, msg
			}
		} else if r, ok := hist["index:"+x.Name]; ok && r.Checksum != x.Checksum {
			st.Detail = joinDetail(st.Detail, "definition edited since applied")
		}
		in.items = append(in.items, st)
		if x.TimeBased {
			rs, acts, err := p.inspectRetention(ctx, x, f)
			if err != nil {
				return nil, err
			}
			in.retent = append(in.retent, rs)
			in.plan.Actions = append(in.plan.Actions, acts...)
		}
	}
	in.plan.Actions = append(in.plan.Actions, records...)
	return in, nil
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func short(sum string) string {
	if len(sum) > 19 {
		return sum[:19]
	}
	return sum
}

func (p *Provisioner) recordAction(r Record, why string) Action {
	return Action{Kind: "history", Name: r.Kind + ":" + r.Name, Op: opRecord, Detail: fmt.Sprintf("v%d %s (%s)", r.Version, short(r.Checksum), why),
		record: &r}
}

// putAction is an action that puts body under name (templates, policies, mappings, settings).
func putAction(kind, name, op, detail string, body map[string]any) Action {
	return Action{Kind: kind, Name: name, Op: op, Detail: detail, body: body}
}

func (p *Provisioner) componentBody(c *Component) map[string]any {
	return map[string]any{
		"template": c.Template,
		"version":  c.Version,
		"_meta":    map[string]any{"managed_by": "quantx-db", "checksum": c.Checksum},
	}
}

// lifecycleSettings are the index settings that hand a time-based index to
// the engine's retention API. Without ILM/ISM they must stay out: the server
// rejects settings no installed module registers.
func lifecycleSettings(x *Index, f *features) map[string]any {
	if !x.TimeBased || x.Retention == nil {
		return nil
	}
	switch f.lifecycle {
	case "ilm":
		return map[string]any{"index": map[string]any{"lifecycle": map[string]any{"name": x.PolicyName(), "rollover_alias": x.WriteAlias()}}}
	case "ism":
		return map[string]any{"plugins": map[string]any{"index_state_management": map[string]any{"rollover_alias": x.WriteAlias()}}}
	}
	return nil
}

func (p *Provisioner) indexTemplateBody(x *Index, f *features) map[string]any {
	tpl := map[string]any{}
	if s, ok := x.Template["settings"].(map[string]any); ok || lifecycleSettings(x, f) != nil {
		tpl["settings"] = merge(merge(map[string]any{}, s), lifecycleSettings(x, f))
	}
	if m, ok := x.Template["mappings"]; ok {
		tpl["mappings"] = m
	}
	if x.TimeBased {
		// Every generation a rollover creates (ILM, ISM or ours) must be readable.
		tpl["aliases"] = map[string]any{x.ReadAlias(): map[string]any{}}
	}
	composed := make([]any, len(x.ComposedOf))
	for i, c := range x.ComposedOf {
		composed[i] = p.defs.component(c).FullName
	}
	return map[string]any{
		"index_patterns": []any{x.Pattern()},
		"composed_of":    composed,
		"priority":       200,
		"version":        x.Version,
		"template":       tpl,
		"_meta":          map[string]any{"managed_by": "quantx-db", "checksum": x.Checksum},
	}
}

// desiredIndex is the settings and mappings a physical index of x should have:
// the components in order, then x's own template.
func (p *Provisioner) desiredIndex(x *Index, f *features) (settings, mappings map[string]any) {
	settings, mappings = map[string]any{}, map[string]any{}
	for _, name := range x.ComposedOf {
		c := p.defs.component(name)
		if s, ok := c.Template["settings"].(map[string]any); ok {
			settings = merge(settings, s)
		}
		if m, ok := c.Template["mappings"].(map[string]any); ok {
			mappings = merge(mappings, m)
		}
	}
	if s, ok := x.Template["settings"].(map[string]any); ok {
		settings = merge(settings, s)
	}
	if m, ok := x.Template["mappings"].(map[string]any); ok {
		mappings = merge(mappings, m)
	}
	return merge(settings, lifecycleSettings(x, f)), mappings
}

// templateDiff compares a template body with the server's GET answer
// ({"<listKey>": [{"name", "<itemKey>": {...}}]}).
func templateDiff(want map[string]any, live []byte, listKey, itemKey string) (diff, error) {
	var doc map[string][]map[string]any
	if err := json.Unmarshal(live, &doc); err != nil {
		return diff{}, err
	}
	items := doc[listKey]
	if len(items) == 0 {
		return diff{}, fmt.Errorf("empty %s answer", listKey)
	}
	got, _ := items[0][itemKey].(map[string]any)
	return compare(templateLeaves(want), templateLeaves(got), false), nil
}

func templateLeaves(t map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range t {
		if k != "template" {
			maps.Copy(out, prefixed(k, flatten(v)))
		}
	}
	tpl, _ := t["template"].(map[string]any)
	for k, v := range tpl {
		if k == "settings" {
			maps.Copy(out, prefixed("template.settings", flatSettings(v)))
		} else {
			maps.Copy(out, prefixed("template."+k, flatten(v)))
		}
	}
	return out
}

func prefixed(p string, m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k == "" {
			out[p] = v
		} else {
			out[p+"."+k] = v
		}
	}
	return out
}

// liveIndex is one physical index as GET /<index> returns it.
type liveIndex struct {
	Name    string
	Aliases map[string]struct {
		IsWriteIndex *bool `json:"is_write_index"`
	} `json:"aliases"`
	Mappings map[string]any `json:"mappings"`
	Settings map[string]any `json:"settings"`
}

func (li liveIndex) creationDate() time.Time {
	s := flatSettings(li.Settings)["creation_date"]
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// getIndices returns the physical indices behind name (an index, alias or
// pattern), sorted by name; none when nothing matches.
func (p *Provisioner) getIndices(ctx context.Context, name string) ([]liveIndex, error) {
	body, err := p.b.getIndex(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]liveIndex
	if err := jsonUnmarshal(body, &m); err != nil {
		return nil, err
	}
	out := make([]liveIndex, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		li := m[k]
		li.Name = k
		out = append(out, li)
	}
	return out, nil
}

// aliasTargets returns the indices an alias points at and, for a write alias,
// the one that takes writes.
func (p *Provisioner) aliasTargets(ctx context.Context, alias string) (indices []string, writeIndex string, err error) {
	body, err := p.b.getAlias(ctx, alias)
	if errors.Is(err, ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var m map[string]struct {
		Aliases map[string]struct {
			IsWriteIndex *bool `json:"is_write_index"`
		} `json:"aliases"`
	}
	if err := jsonUnmarshal(body, &m); err != nil {
		return nil, "", err
	}
	for _, idx := range slices.Sorted(maps.Keys(m)) {
		a, ok := m[idx].Aliases[alias]
		if !ok {
			continue
		}
		indices = append(indices, idx)
		if a.IsWriteIndex == nil || *a.IsWriteIndex {
			if a.IsWriteIndex != nil || writeIndex == "" {
				writeIndex = idx
			}
		}
	}
	if len(indices) > 1 && writeIndex != "" {
		// Without is_write_index on a multi-index alias nothing takes writes.
		if w := m[writeIndex].Aliases[alias].IsWriteIndex; w == nil {
			writeIndex = ""
		}
	}
	return indices, writeIndex, nil
}

func (p *Provisioner) inspectIndex(ctx context.Context, x *Index, f *features) (ItemStatus, []Action, error) {
	st := ItemStatus{Kind: "index", Name: x.Name, ServerName: x.ReadAlias(), Version: x.Version, State: StateOK}
	var acts []Action
	readIdx, _, err := p.aliasTargets(ctx, x.ReadAlias())
	if err != nil {
		return st, nil, err
	}
	_, writeIdx, err := p.aliasTargets(ctx, x.WriteAlias())
	if err != nil {
		return st, nil, err
	}
	settings, mappings := p.desiredIndex(x, f)

	if len(readIdx) == 0 && writeIdx == "" {
		name := x.Physical(x.Version)
		st.PhysicalIndex = name
		existing, err := p.getIndices(ctx, name)
		if err != nil {
			return st, nil, err
		}
		if len(existing) == 0 {
			st.State, st.Detail = StateMissing, "no index behind "+x.ReadAlias()
			body := map[string]any{"settings": settings, "mappings": mappings, "aliases": map[string]any{
				x.ReadAlias():  map[string]any{},
				x.WriteAlias(): map[string]any{"is_write_index": true},
			}}
			acts = append(acts, Action{Kind: "index", Name: name, Op: opCreate, Detail: "aliases " + x.ReadAlias() + ", " + x.WriteAlias(), body: body})
			return st, acts, nil
		}
		st.State, st.Detail = StateDrift, "aliases missing on "+name
		acts = append(acts, p.aliasAction(name, []aliasOp{{add: true, index: name, alias: x.ReadAlias()}, {add: true, index: name, alias: x.WriteAlias(), write: true}}, "aliases missing"))
		writeIdx = name
	}
	if writeIdx == "" {
		st.State, st.Detail = StateDrift, x.WriteAlias()+" points at no single write index"
		return st, []Action{{Kind: "alias", Name: x.WriteAlias(), Op: opReindex, Detail: st.Detail}}, nil
	}
	if len(readIdx) == 0 {
		st.State, st.Detail = StateDrift, x.ReadAlias()+" is missing"
		acts = append(acts, p.aliasAction(x.ReadAlias(), []aliasOp{{add: true, index: writeIdx, alias: x.ReadAlias()}}, "read alias missing"))
	}
	st.PhysicalIndex = writeIdx
	st.LiveVersion = x.versionOf(writeIdx)

	// What an interrupted reindex leaves behind: readers and writers on
	// different indices, a write index that refuses writes, a newer physical
	// index without aliases. Time-based indices are never copied.
	var live *liveIndex
	var orphans []string
	if !x.TimeBased {
		all, err := p.getIndices(ctx, x.Pattern())
		if err != nil {
			return st, nil, err
		}
		for i, li := range all {
			switch {
			case li.Name == writeIdx:
				live = &all[i]
			case len(li.Aliases) == 0 && x.versionOf(li.Name) > st.LiveVersion:
				orphans = append(orphans, li.Name)
			}
		}
		if len(readIdx) == 1 && readIdx[0] != writeIdx {
			st.State = StateInterrupted
			st.Detail = fmt.Sprintf("readers on %s, writers on %s: a reindex stopped after moving the write alias", readIdx[0], writeIdx)
			if x.versionOf(writeIdx) <= x.versionOf(readIdx[0]) { // not what a reindex leaves: Reindex refuses it
				st.State = StateDrift
				st.Detail = fmt.Sprintf("readers on %s, writers on the older %s: point both aliases at one index", readIdx[0], writeIdx)
			}
			return st, append(acts, Action{Kind: "index", Name: x.ReadAlias(), Op: opReindex, Detail: st.Detail}), nil
		}
	}
	if live == nil {
		lives, err := p.getIndices(ctx, writeIdx)
		if err != nil {
			return st, nil, err
		}
		if len(lives) != 1 {
			return st, nil, fmt.Errorf("index %s: %w", writeIdx, ErrNotFound)
		}
		live = &lives[0]
	}
	var interrupted []string
	if writeBlocked(*live) {
		// Setup lifts the block (writers come first); a reindex it belonged
		// to is then still reported below, until rerun.
		interrupted = append(interrupted, writeIdx+" refuses writes (index.blocks.write)")
		acts = append(acts, Action{Kind: "settings", Name: writeIdx, Op: opUpdate, Detail: "lift the write block", body: json.RawMessage(liftWriteBlock)})
	}
	if len(orphans) > 0 {
		interrupted = append(interrupted, fmt.Sprintf("%s has no aliases: a reindex stopped before switching",
			strings.Join(orphans, ", ")))
		acts = append(acts, Action{Kind: "index", Name: x.ReadAlias(), Op: opReindex, Detail: "interrupted reindex left " + strings.Join(orphans, ", ")})
	}
	if len(interrupted) > 0 {
		st.State, st.Detail = StateDrift, strings.Join(interrupted, "; ")
		if len(orphans) > 0 {
			st.State = StateInterrupted
		}
	}
	if st.LiveVersion < x.Version {
		detail := fmt.Sprintf("%s is v%d, the definition wants v%d", writeIdx, st.LiveVersion, x.Version)
		if st.State != StateInterrupted {
			st.State = StateReindex
		}
		st.Detail = joinDetail(st.Detail, detail)
		return st, append(acts, Action{Kind: "index", Name: x.ReadAlias(), Op: opReindex, Detail: detail}), nil
	}
	d := p.indexDiff(x, f, *live)
	if len(d.blockers) > 0 {
		if st.State != StateInterrupted {
			st.State = StateReindex
		}
		st.Detail = joinDetail(st.Detail, summarize(d.blockers))
		return st, append(acts, Action{Kind: "index", Name: writeIdx, Op: opReindex, Detail: summarize(d.blockers)}), nil
	}
	if len(d.missingMappings) > 0 {
		if st.State == StateOK {
			st.State = StateDrift
		}
		st.Detail = joinDetail(st.Detail, summarize(d.inPlace))
		acts = append(acts, putAction("mapping", writeIdx, opUpdate, "add "+summarize(d.missingMappings), mappings))
	}
	if len(d.dynamic) > 0 {
		if st.State == StateOK {
			st.State = StateDrift
		}
		if len(d.missingMappings) == 0 {
			st.Detail = joinDetail(st.Detail, summarize(d.inPlace))
		}
		acts = append(acts, putAction("settings", writeIdx, opUpdate, summarize(d.settingsChanged), map[string]any{"index": d.dynamic}))
	}
	return st, acts, nil
}

// indexDiffs is how a live physical index differs from its definition.
type indexDiffs struct {
	inPlace         []string       // differences Setup applies in place (for the detail)
	missingMappings []string       // fields to add with PUT _mapping
	dynamic         map[string]any // dynamic settings to put back
	settingsChanged []string
	blockers        []string // differences only a reindex can fix
}

func (p *Provisioner) indexDiff(x *Index, f *features, live liveIndex) indexDiffs {
	settings, mappings := p.desiredIndex(x, f)
	d := indexDiffs{dynamic: map[string]any{}}
	sd := compare(flatSettings(settings), flatSettings(live.Settings), true)
	for _, k := range append(slices.Clone(sd.Missing), sd.Changed...) {
		key := k[:indexAny(k, "=:")]
		if dynamicSetting(key) {
			d.inPlace = append(d.inPlace, "setting "+k)
			d.dynamic[key] = flatSettings(settings)[key]
			d.settingsChanged = append(d.settingsChanged, k)
		} else {
			d.blockers = append(d.blockers, "setting "+k)
		}
	}
	md := compare(flatten(mappings), flatten(live.Mappings), false)
	for _, k := range md.Missing {
		d.inPlace = append(d.inPlace, "mapping "+k)
	}
	d.missingMappings = md.Missing
	for _, k := range md.Changed {
		d.blockers = append(d.blockers, "mapping "+k)
	}
	for _, k := range md.Extra {
		d.blockers = append(d.blockers, "mapping not in definition "+k)
	}
	return d
}

func indexAny(s, chars string) int {
	for i, r := range s {
		for _, c := range chars {
			if r == c {
				return i
			}
		}
	}
	return len(s)
}

func summarize(xs []string) string { return diff{Changed: xs}.String()[len("changed "):] }

type aliasOp struct {
	add          bool
	index, alias string
	write        bool
}

func aliasBody(ops []aliasOp) []byte {
	actions := make([]any, 0, len(ops))
	for _, o := range ops {
		spec := map[string]any{"index": o.index, "alias": o.alias}
		if o.add {
			if o.write {
				spec["is_write_index"] = true
			}
			actions = append(actions, map[string]any{"add": spec})
		} else {
			actions = append(actions, map[string]any{"remove": spec})
		}
	}
	b, _ := json.Marshal(map[string]any{"actions": actions})
	return b
}

func (p *Provisioner) aliasAction(name string, ops []aliasOp, detail string) Action {
	return Action{Kind: "alias", Name: name, Op: opUpdate, Detail: detail, body: json.RawMessage(aliasBody(ops))}
}
