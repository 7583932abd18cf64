package influx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/domain"
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
	obj := func(kind, name, state, detail string) {
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
			pl.Extras = append(pl.Extras, Extra{Kind: "bucket", Name: b.Name, Note: "not in the desired state; left as is: quantx-db never drops data"})
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

// client2 is the influxdb-client-go client of a 2.x server.
func (p *Provisioner) client2() influxdb2.Client {
	return influxdb2.NewClientWithOptions(p.base.String(), p.token, influxdb2.DefaultOptions().SetHTTPClient(p.hc))
}

// readV2 reads the organisation's buckets, DBRP mappings and tasks.
func (p *Provisioner) readV2(ctx context.Context) (liveV2, error) {
	c := p.client2()
	defer c.Close()
	// The organisation is read through our own transport: the generated client
	// reports a 401 only as text, and a bad token must map to ErrUnauthorized.
	var orgs struct {
		Orgs []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"orgs"`
	}
	if err := p.getJSON(ctx, "/api/v2/orgs?"+url.Values{"org": {p.org}}.Encode(), &orgs); err != nil {
		return liveV2{}, fmt.Errorf("find organisation %s: %w", p.org, err)
	}
	if len(orgs.Orgs) == 0 {
		return liveV2{}, fmt.Errorf("find organisation %s: %w", p.org, ErrNoOrg)
	}
	orgID := orgs.Orgs[0].ID
	buckets, err := c.BucketsAPI().FindBucketsByOrgID(ctx, orgID, api.PagingWithLimit(100))
	if err != nil {
		return liveV2{}, fmt.Errorf("list buckets of %s: %w", p.org, p.v2Err(err))
	}
	dbrps, err := c.APIClient().GetDBRPs(ctx, &domain.GetDBRPsParams{OrgID: &orgID})
	if err != nil {
		return liveV2{}, fmt.Errorf("list dbrp mappings of %s: %w", p.org, p.v2Err(err))
	}
	tasks, err := c.TasksAPI().FindTasks(ctx, &api.TaskFilter{OrgID: orgID, Limit: 500})
	if err != nil {
		return liveV2{}, fmt.Errorf("list tasks of %s: %w", p.org, p.v2Err(err))
	}
	return liveFromV2API(orgID, *buckets, dbrps, tasks), nil
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

// applyV2 is the thin executor of a 2.x plan: one client call per action.
func (p *Provisioner) applyV2(ctx context.Context, actions []Action) ([]Action, error) {
	c := p.client2()
	defer c.Close()
	done := []Action{}
	created := map[string]string{} // bucketRef → ID
	for _, a := range actions {
		if err := p.applyV2Action(ctx, c, a, created); err != nil {
			return done, fmt.Errorf("%s %s: %w", a.Kind, a.Object, p.v2Err(err))
		}
		p.log.InfoContext(ctx, "influx action applied", "kind", a.Kind, "object", a.Object)
		done = append(done, a)
	}
	return done, nil
}

func (p *Provisioner) applyV2Action(ctx context.Context, c influxdb2.Client, a Action, created map[string]string) error {
	id := a.Call.Path[strings.LastIndexByte(a.Call.Path, '/')+1:]
	id, _, _ = strings.Cut(id, "?")
	switch body := a.Call.Body.(type) {
	case bucketBody:
		rules := domain.RetentionRules{}
		for _, r := range body.RetentionRules {
			typ := domain.RetentionRuleType(r.Type)
			sg := r.ShardGroupDurationSeconds
			rules = append(rules, domain.RetentionRule{Type: &typ, EverySeconds: r.EverySeconds, ShardGroupDurationSeconds: &sg})
		}
		if a.Kind == "create_bucket" {
			b, err := c.BucketsAPI().CreateBucket(ctx, &domain.Bucket{Name: body.Name, OrgID: &body.OrgID, RetentionRules: rules})
			if err == nil {
				created[bucketRef(body.Name)] = deref(b.Id)
			}
			return err
		}
		_, err := c.BucketsAPI().UpdateBucket(ctx, &domain.Bucket{Id: &id, Name: body.Name, RetentionRules: rules})
		return err
	case dbrpBody:
		if a.Kind == "create_dbrp" {
			bucketID := body.BucketID
			if v, ok := created[bucketID]; ok {
				bucketID = v
			}
			_, err := c.APIClient().PostDBRP(ctx, &domain.PostDBRPAllParams{Body: domain.PostDBRPJSONRequestBody{
				BucketID: bucketID, Database: body.Database, RetentionPolicy: body.RetentionPolicy, Default: &body.Default, OrgID: &body.OrgID}})
			return err
		}
		orgID := a.Call.Path[strings.IndexByte(a.Call.Path, '=')+1:]
		_, err := c.APIClient().PatchDBRPID(ctx, &domain.PatchDBRPIDAllParams{DbrpID: id,
			PatchDBRPIDParams: domain.PatchDBRPIDParams{OrgID: &orgID}, Body: domain.PatchDBRPIDJSONRequestBody{Default: &body.Default}})
		return err
	case taskBody:
		status := domain.TaskStatusType(body.Status)
		if a.Kind == "create_task" {
			_, err := c.TasksAPI().CreateTaskByFlux(ctx, body.Flux, body.OrgID)
			return err
		}
		// Only flux and status: the client's UpdateTask also sends the name, and
		// any option change makes the server re-format the whole script.
		_, err := c.APIClient().PatchTasksID(ctx, &domain.PatchTasksIDAllParams{TaskID: id,
			Body: domain.PatchTasksIDJSONRequestBody{Flux: &body.Flux, Status: &status}})
		return err
	}
	return fmt.Errorf("no executor for a %T body", a.Call.Body)
}

// backfillV2 runs the task's pipeline once over [from, to).
func (p *Provisioner) backfillV2(ctx context.Context, r rollup, from, to time.Time) error {
	c := p.client2()
	defer c.Close()
	flux := r.fluxBackfill(p.desired.Database, from, to)
	res, err := c.QueryAPI(p.org).Query(ctx, flux)
	if err != nil {
		return p.v2Err(err)
	}
	for res.Next() {
	}
	if res.Err() != nil {
		return p.v2Err(res.Err())
	}
	return res.Close()
}

// fluxBackfill is the task's body with a fixed range instead of the task's
// sliding one, and without the task option (a plain query may not set it).
func (r rollup) fluxBackfill(db string, from, to time.Time) string {
	window := r.To.ResampleFor
	if window == 0 {
		window = r.To.RollupEvery
	}
	flux := r.fluxTask(db)
	flux = flux[strings.Index(flux, "\n\n")+2:] // drop "option task = ..."
	return strings.Replace(flux, "range(start: -"+window.String()+")",
		fmt.Sprintf("range(start: %s, stop: %s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)), 1)
}

// v2Err maps the client's HTTP errors onto the package's sentinels.
func (p *Provisioner) v2Err(err error) error {
	if he, ok := errors.AsType[*ihttp.Error](err); ok && (he.StatusCode == 401 || he.StatusCode == 403) {
		return fmt.Errorf("%w at %s: %v", ErrUnauthorized, p.base, err)
	}
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
