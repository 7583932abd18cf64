package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/influxdata/influxdb-client-go/v2/domain"

	"github.com/quantx/quantx-db/internal/influxclient"
	"github.com/quantx/quantx-db/internal/report"
)

// liveV2 is what a 2.x server has in the organisation.
type liveV2 struct {
	OrgID   string
	Buckets []liveBucket
	DBRPs   []liveDBRP // physical mappings only: virtual ones are derived from bucket names
	Tasks   []liveTask
}

type liveBucket struct {
	ID                string
	Name              string
	EverySeconds      int64 // 0: infinite
	ShardGroupSeconds int64 // 0: server default
}

type liveDBRP struct {
	ID, Database, RetentionPolicy, BucketID string
	Default                                 bool
}

type liveTask struct {
	ID, Name, Flux, Status string
}

// The 2.x request bodies, in the API's JSON shapes. Plans carry them, unit
// tests compare them, and the executor hands their contents to the client.
type (
	retentionRule struct {
		Type                      string `json:"type"`
		EverySeconds              int64  `json:"everySeconds"`
		ShardGroupDurationSeconds int64  `json:"shardGroupDurationSeconds,omitempty"`
	}
	bucketBody struct {
		Name           string          `json:"name"`
		OrgID          string          `json:"orgID,omitempty"`
		RetentionRules []retentionRule `json:"retentionRules"`
	}
	dbrpBody struct {
		BucketID        string `json:"bucketID,omitempty"`
		Database        string `json:"database,omitempty"`
		RetentionPolicy string `json:"retention_policy,omitempty"`
		Default         bool   `json:"default"`
		OrgID           string `json:"orgID,omitempty"`
	}
	taskBody struct {
		OrgID  string `json:"orgID,omitempty"`
		Name   string `json:"name,omitempty"`
		Flux   string `json:"flux"`
		Status string `json:"status"`
	}
)

// ErrNoOrg means the 2.x organisation does not exist. Setup does not create
// one: an organisation comes with users and tokens, which are not ours to make.
var ErrNoOrg = errors.New("organisation not found")

// bucketRef stands for the ID of a bucket that an earlier action of the plan creates.
func bucketRef(name string) string { return "{id of bucket " + name + "}" }

// planV2 compares the desired state with a 2.x organisation. It is pure:
// unit tests pass recorded live states and compare the exact API calls.
func planV2(d Desired, live liveV2) Plan {
	db := d.Database
	pl := Plan{Database: db}
	obj := func(kind, name string, state report.State, detail string) {
		pl.Objects = append(pl.Objects, Object{Kind: kind, Name: name, State: state, Detail: detail})
	}
	bucketIDs := map[string]string{}
	for i, t := range d.Tiers {
		name := bucketName(db, t)
		rule := retentionRule{Type: "expire", EverySeconds: int64(time.Duration(t.Duration) / time.Second),
			ShardGroupDurationSeconds: int64(t.shardDuration() / time.Second)}
		bi := slices.IndexFunc(live.Buckets, func(b liveBucket) bool { return b.Name == name })
		switch {
		case bi < 0:
			obj("bucket", name, StateMissing, "")
			bucketIDs[name] = bucketRef(name)
			pl.Actions = append(pl.Actions, Action{Kind: "create_bucket", Object: name,
				Description: fmt.Sprintf("create bucket %s (retention %s)", name, t.Duration.ddl()),
				Call: &APICall{Method: "POST", Path: "/api/v2/buckets",
					Body: bucketBody{Name: name, OrgID: live.OrgID, RetentionRules: []retentionRule{rule}}}})
		default:
			b := live.Buckets[bi]
			bucketIDs[name] = b.ID
			var diffs []string
			if b.EverySeconds != rule.EverySeconds {
				diffs = append(diffs, fmt.Sprintf("retention %s, want %s", Duration(time.Duration(b.EverySeconds)*time.Second).ddl(), t.Duration.ddl()))
			}
			if b.ShardGroupSeconds != 0 && b.ShardGroupSeconds != rule.ShardGroupDurationSeconds {
				diffs = append(diffs, fmt.Sprintf("shard group duration %s, want %s",
					Duration(time.Duration(b.ShardGroupSeconds)*time.Second).ddl(), Duration(t.shardDuration()).ddl()))
			}
			if len(diffs) == 0 {
				obj("bucket", name, StateOK, "")
				break
			}
			obj("bucket", name, StateDrift, strings.Join(diffs, "; "))
			pl.Actions = append(pl.Actions, Action{Kind: "update_bucket", Object: name,
				Description: fmt.Sprintf("update bucket %s: %s", name, strings.Join(diffs, "; ")),
				Call: &APICall{Method: "PATCH", Path: "/api/v2/buckets/" + b.ID,
					Body: bucketBody{Name: name, RetentionRules: []retentionRule{rule}}}})
		}
		// The DBRP mapping lets InfluxQL clients (and 1.x-style writers) keep
		// using database quantx_db and retention policy <tier>.
		mapping := db + "/" + t.Name
		di := slices.IndexFunc(live.DBRPs, func(m liveDBRP) bool { return m.Database == db && m.RetentionPolicy == t.Name })
		switch {
		case di < 0:
			obj("dbrp", mapping, StateMissing, "")
			pl.Actions = append(pl.Actions, Action{Kind: "create_dbrp", Object: mapping,
				Description: fmt.Sprintf("map database %s, retention policy %s to bucket %s", db, t.Name, name),
				Call: &APICall{Method: "POST", Path: "/api/v2/dbrps",
					Body: dbrpBody{BucketID: bucketIDs[name], Database: db, RetentionPolicy: t.Name, Default: i == 0, OrgID: live.OrgID}}})
		case live.DBRPs[di].BucketID != bucketIDs[name]:
			obj("dbrp", mapping, StateOK, "")
			pl.Extras = append(pl.Extras, Extra{Kind: "dbrp", Name: mapping,
				Note: fmt.Sprintf("maps to bucket id %s, not %s; left as is (remapping moves readers to other data)", live.DBRPs[di].BucketID, name)})
		case live.DBRPs[di].Default != (i == 0):
			obj("dbrp", mapping, StateDrift, fmt.Sprintf("default %t, want %t", live.DBRPs[di].Default, i == 0))
			pl.Actions = append(pl.Actions, Action{Kind: "update_dbrp", Object: mapping,
				Description: fmt.Sprintf("set default %t on mapping %s", i == 0, mapping),
				Call: &APICall{Method: "PATCH", Path: "/api/v2/dbrps/" + live.DBRPs[di].ID + "?orgID=" + live.OrgID,
					Body: dbrpBody{Default: i == 0}}})
		default:
			obj("dbrp", mapping, StateOK, "")
		}
	}
	want := map[string]bool{}
	for _, r := range d.rollups() {
		name := r.taskName(db)
		want[name] = true
		flux := r.fluxTask(db)
		ti := slices.IndexFunc(live.Tasks, func(t liveTask) bool { return t.Name == name })
		switch {
		case ti < 0:
			obj("task", name, StateMissing, "")
			pl.Actions = append(pl.Actions, Action{Kind: "create_task", Object: name,
				Description: fmt.Sprintf("create task %s: %s %s → %s every %s", name, r.Measurement.Name, r.From.Name, r.To.Name, r.To.RollupEvery),
				Call:        &APICall{Method: "POST", Path: "/api/v2/tasks", Body: taskBody{OrgID: live.OrgID, Flux: flux, Status: "active"}}})
		case normalizeFlux(live.Tasks[ti].Flux) != normalizeFlux(flux) || live.Tasks[ti].Status != "active":
			detail := "flux differs"
			if live.Tasks[ti].Status != "active" {
				detail = "status " + live.Tasks[ti].Status
			}
			obj("task", name, StateDrift, detail)
			// Unlike a 1.x CQ, a task can be updated in place: its run history stays.
			pl.Actions = append(pl.Actions, Action{Kind: "update_task", Object: name,
				Description: fmt.Sprintf("update task %s (%s)", name, detail),
				Call:        &APICall{Method: "PATCH", Path: "/api/v2/tasks/" + live.Tasks[ti].ID, Body: taskBody{Flux: flux, Status: "active"}}})
		default:
			obj("task", name, StateOK, "")
		}
	}
	for _, b := range live.Buckets {
		if strings.HasPrefix(b.Name, db+"/") && !slices.ContainsFunc(d.Tiers, func(t Tier) bool { return bucketName(db, t) == b.Name }) {
			pl.Extras = append(pl.Extras, Extra{Kind: "bucket", Name: b.Name, Note: "not in the desired state; left as is: provisioning never drops data"})
		}
	}
	for _, m := range live.DBRPs {
		if m.Database == db && !slices.ContainsFunc(d.Tiers, func(t Tier) bool { return t.Name == m.RetentionPolicy }) {
			pl.Extras = append(pl.Extras, Extra{Kind: "dbrp", Name: m.Database + "/" + m.RetentionPolicy, Note: "not in the desired state; left as is"})
		}
	}
	for _, t := range live.Tasks {
		if strings.HasPrefix(t.Name, db+"/cq_") && !want[t.Name] {
			pl.Extras = append(pl.Extras, Extra{Kind: "task", Name: t.Name, Note: "not in the desired state; left as is"})
		}
	}
	pl.Objects, pl.Actions, pl.Extras = nonNil(pl.Objects), nonNil(pl.Actions), nonNil(pl.Extras)
	return pl
}

// v2 is the 2.x dialect: the HTTP API for buckets, DBRP mappings and tasks,
// Flux for the rollups. Answers are decoded into influxdb-client-go's domain
// types (generated from the API's OpenAPI definition), and requests go through
// the shared client, so that auth, timeouts and errors are the same as
// everywhere else.
type v2 struct {
	c   *influxclient.Client
	org string
	log *slog.Logger
}

// getJSON GETs path with query and decodes the answer into v.
func (b *v2) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	resp, err := b.c.Do(ctx, influxclient.Request{Method: http.MethodGet, Path: path, Query: query, Retry: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode answer: %w", path, err)
	}
	return nil
}

func (b *v2) plan(ctx context.Context, d Desired) (Plan, error) {
	live, err := b.read(ctx)
	if err != nil {
		return Plan{}, err
	}
	return planV2(d, live), nil
}

// read reads the organisation's buckets, DBRP mappings and tasks.
func (b *v2) read(ctx context.Context) (liveV2, error) {
	var orgs struct {
		Orgs []domain.Organization `json:"orgs"`
	}
	if err := b.getJSON(ctx, "/api/v2/orgs", url.Values{"org": {b.org}}, &orgs); err != nil {
		if influxclient.IsNotFound(err) { // 2.7 answers an unknown org with 404
			return liveV2{}, fmt.Errorf("find organisation %s: %w", b.org, ErrNoOrg)
		}
		return liveV2{}, fmt.Errorf("find organisation %s: %w", b.org, err)
	}
	if len(orgs.Orgs) == 0 || orgs.Orgs[0].Id == nil {
		return liveV2{}, fmt.Errorf("find organisation %s: %w", b.org, ErrNoOrg)
	}
	orgID := *orgs.Orgs[0].Id
	buckets, err := influxclient.List[domain.Bucket](ctx, b.c, "/api/v2/buckets", "buckets", url.Values{"orgID": {orgID}})
	if err != nil {
		return liveV2{}, fmt.Errorf("list buckets of %s: %w", b.org, err)
	}
	var dbrps domain.DBRPs
	if err := b.getJSON(ctx, "/api/v2/dbrps", url.Values{"orgID": {orgID}}, &dbrps); err != nil {
		return liveV2{}, fmt.Errorf("list dbrp mappings of %s: %w", b.org, err)
	}
	tasks, err := influxclient.List[domain.Task](ctx, b.c, "/api/v2/tasks", "tasks", url.Values{"orgID": {orgID}})
	if err != nil {
		return liveV2{}, fmt.Errorf("list tasks of %s: %w", b.org, err)
	}
	return liveFromV2API(orgID, buckets, &dbrps, tasks), nil
}

// liveFromV2API reduces the API's answers to what planning compares. It is
// pure, so unit tests feed it recorded 2.x answers decoded into the client's
// own types.
func liveFromV2API(orgID string, buckets []domain.Bucket, dbrps *domain.DBRPs, tasks []domain.Task) liveV2 {
	live := liveV2{OrgID: orgID}
	for _, b := range buckets {
		lb := liveBucket{ID: deref(b.Id), Name: b.Name}
		for _, r := range b.RetentionRules {
			lb.EverySeconds = r.EverySeconds
			if r.ShardGroupDurationSeconds != nil {
				lb.ShardGroupSeconds = *r.ShardGroupDurationSeconds
			}
		}
		live.Buckets = append(live.Buckets, lb)
	}
	if dbrps != nil && dbrps.Content != nil {
		for _, m := range *dbrps.Content {
			if m.Virtual != nil && *m.Virtual {
				continue
			}
			live.DBRPs = append(live.DBRPs, liveDBRP{ID: m.Id, Database: m.Database, RetentionPolicy: m.RetentionPolicy, BucketID: m.BucketID, Default: m.Default})
		}
	}
	for _, t := range tasks {
		lt := liveTask{ID: t.Id, Name: t.Name, Flux: t.Flux}
		if t.Status != nil {
			lt.Status = string(*t.Status)
		}
		live.Tasks = append(live.Tasks, lt)
	}
	return live
}

// apply is the thin executor of a 2.x plan: each action's call is sent as
// planned, with the ID of a bucket created earlier in the same plan put in
// place of its reference.
func (b *v2) apply(ctx context.Context, d Desired, actions []Action) ([]Action, error) {
	done := []Action{}
	created := map[string]string{} // bucketRef → ID
	for _, a := range actions {
		if err := b.send(ctx, a, created); err != nil {
			return done, fmt.Errorf("%s %s: %w", a.Kind, a.Object, err)
		}
		b.log.InfoContext(ctx, "influx action applied", "kind", a.Kind, "object", a.Object)
		done = append(done, a)
	}
	return done, nil
}

func (b *v2) send(ctx context.Context, a Action, created map[string]string) error {
	body := a.Call.Body
	if db, ok := body.(dbrpBody); ok {
		if id, ok := created[db.BucketID]; ok {
			db.BucketID = id
		}
		body = db
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	path, query, _ := strings.Cut(a.Call.Path, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return err
	}
	// Not retried: a create whose answer was lost would fail the second time
	// as a conflict; the next setup plans whatever is still missing.
	resp, err := b.c.Do(ctx, influxclient.Request{Method: a.Call.Method, Path: path, Query: q,
		Body: bytes.NewReader(raw), ContentType: "application/json"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if bb, ok := a.Call.Body.(bucketBody); ok && a.Kind == "create_bucket" {
		var out struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.ID == "" {
			return fmt.Errorf("create bucket %s: no id in the answer (%v)", bb.Name, err)
		}
		created[bucketRef(bb.Name)] = out.ID
	}
	return nil
}

// rollup runs the task's pipeline once over [from, to) as a Flux query.
// to() passes on the rows it wrote, one per field value; a point is one
// series at one time, as 1.x's SELECT ... INTO counts them, so the rows are
// counted by series and time.
func (b *v2) rollup(ctx context.Context, d Desired, r rollup, from, to time.Time) (int64, error) {
	body, err := json.Marshal(map[string]any{"query": r.fluxBackfill(d.Database, from, to), "type": "flux",
		"dialect": map[string]any{"header": true, "annotations": []string{"datatype", "group", "default"}}})
	if err != nil {
		return 0, err
	}
	// Writing the same points again changes nothing: a transient failure is retried.
	resp, err := b.c.Do(ctx, influxclient.Request{Method: http.MethodPost, Path: "/api/v2/query", Query: url.Values{"org": {b.org}},
		Body: bytes.NewReader(body), ContentType: "application/json", Retry: true, Stream: true, Timeout: 20 * b.c.Timeout()})
	if err != nil {
		return 0, err
	}
	res := api.NewQueryTableResult(resp.Body)
	defer res.Close()
	points := map[string]struct{}{}
	for res.Next() {
		rec := res.Record()
		var key strings.Builder
		key.WriteString(rec.Time().UTC().Format(time.RFC3339Nano))
		for _, c := range res.TableMetadata().Columns() {
			if c.IsGroup() && c.Name() != "_field" && c.Name() != "_start" && c.Name() != "_stop" {
				fmt.Fprintf(&key, ",%s=%v", c.Name(), rec.ValueByKey(c.Name()))
			}
		}
		points[key.String()] = struct{}{}
	}
	if err := res.Err(); err != nil {
		return 0, err
	}
	return int64(len(points)), nil
}

// fluxBackfill is the task's body with a fixed range instead of the task's
// sliding one, and without the task option (a plain query may not set it).
func (r rollup) fluxBackfill(db string, from, to time.Time) string {
	flux := r.fluxTask(db)
	flux = flux[strings.Index(flux, "\n\n")+2:] // drop "option task = ..."
	return strings.Replace(flux, "range(start: -"+r.Window.String()+")",
		fmt.Sprintf("range(start: %s, stop: %s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)), 1)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
