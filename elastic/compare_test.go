package elastic

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestFlatSettingsMatchesServerForm(t *testing.T) {
	t.Parallel()
	// A definition writes numbers and nests freely; the server answers with
	// strings under "index". Both must flatten to the same leaves.
	var def, live any
	_ = json.Unmarshal([]byte(`{"number_of_shards": 1, "analysis": {"analyzer": {"a": {"filter": ["lowercase"]}}}, "index.refresh_interval": "1s"}`), &def)
	_ = json.Unmarshal([]byte(`{"index": {"number_of_shards": "1", "refresh_interval": "1s", "uuid": "x", "analysis": {"analyzer": {"a": {"filter": ["lowercase"]}}}}}`), &live)
	d := compare(flatSettings(def), flatSettings(live), true)
	if !d.empty() {
		t.Fatalf("diff %s", d)
	}
	if d := compare(flatSettings(def), flatSettings(live), false); len(d.Extra) != 1 || d.Extra[0] != "uuid=x" {
		t.Fatalf("non-subset diff %+v", d)
	}
}

func TestCompareMappings(t *testing.T) {
	t.Parallel()
	parse := func(s string) map[string]string {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return flatten(v)
	}
	want := parse(`{"properties": {"a": {"type": "keyword"}, "b": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}}`)
	for name, c := range map[string]struct {
		live                    string
		missing, changed, extra int
	}{
		"equal":       {`{"properties": {"b": {"fields": {"raw": {"type": "keyword"}}, "type": "text"}, "a": {"type": "keyword"}}}`, 0, 0, 0},
		"field added": {`{"properties": {"a": {"type": "keyword"}}}`, 2, 0, 0},
		"type change": {`{"properties": {"a": {"type": "long"}, "b": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}}`, 0, 1, 0},
		"by hand":     {`{"properties": {"a": {"type": "keyword"}, "b": {"type": "text", "fields": {"raw": {"type": "keyword"}}}, "x": {"type": "long"}}}`, 0, 0, 1},
	} {
		d := compare(want, parse(c.live), false)
		if len(d.Missing) != c.missing || len(d.Changed) != c.changed || len(d.Extra) != c.extra {
			t.Errorf("%s: %+v", name, d)
		}
	}
}

func TestMergeOverrides(t *testing.T) {
	t.Parallel()
	a := map[string]any{"settings": map[string]any{"x": 1, "n": map[string]any{"k": 1}}}
	b := map[string]any{"settings": map[string]any{"y": 2, "n": map[string]any{"k": 3}}}
	got := merge(merge(map[string]any{}, a), b)
	if fmt.Sprint(got) != "map[settings:map[n:map[k:3] x:1 y:2]]" {
		t.Fatalf("merge %v", got)
	}
	if fmt.Sprint(a) != "map[settings:map[n:map[k:1] x:1]]" {
		t.Fatalf("merge changed its source: %v", a)
	}
}

func TestDynamicSetting(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{"refresh_interval": true, "number_of_replicas": true, "auto_expand_replicas": true,
		"lifecycle.name": true, "number_of_shards": false, "analysis.analyzer.a.filter[0]": false, "codec": false} {
		if dynamicSetting(k) != want {
			t.Errorf("%s: want %v", k, want)
		}
	}
}

func TestTemplateDiffAgainstServerAnswer(t *testing.T) {
	t.Parallel()
	d, _ := LoadDefs(DefaultDefs(), "")
	p := &Provisioner{defs: d}
	c := &d.Components[1] // settings
	want := p.componentBody(c)
	// What the server answers for that PUT: settings nested and stringified.
	live := fmt.Sprintf(`{"component_templates":[{"name":"quantx-settings","component_template":{"template":{"settings":{"index":{
		"number_of_shards":"1","auto_expand_replicas":"0-1","refresh_interval":"1s",
		"analysis":{"analyzer":{"quantx_text":{"filter":["lowercase"],"type":"custom","tokenizer":"standard"}},
		"normalizer":{"quantx_lowercase":{"filter":["lowercase"],"type":"custom"}}}}}},
		"version":1,"_meta":{"managed_by":"quantx-db","checksum":%q}}}]}`, c.Checksum)
	if df, err := templateDiff(want, []byte(live), "component_templates", "component_template"); err != nil || !df.empty() {
		t.Fatalf("diff %v %s", err, df)
	}
	// A manual edit on the server shows up.
	edited := []byte(`{"component_templates":[{"name":"x","component_template":{"template":{"settings":{"index":{"number_of_shards":"2"}}},"version":1}}]}`)
	if df, _ := templateDiff(want, edited, "component_templates", "component_template"); df.empty() {
		t.Fatal("no diff for an edited template")
	}
}

func TestCheckResponse(t *testing.T) {
	t.Parallel()
	body := []byte(`{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"template after composition is invalid"}],
		"type":"illegal_argument_exception","reason":"template after composition is invalid",
		"caused_by":{"type":"x","reason":"invalid composite mappings","caused_by":{"type":"mapper_parsing_exception","reason":"No handler for type [nope] declared on field [body]"}}},"status":400}`)
	err := checkResponse("put index template t", 400, body)
	var se *ServerError
	if !errors.As(err, &se) || se.Reason != "template after composition is invalid" || se.Cause != "No handler for type [nope] declared on field [body]" {
		t.Fatalf("%#v", err)
	}
	if err := checkResponse("get alias a", 404, []byte(`{"error":"alias [a] missing","status":404}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	if err := checkResponse("x", 401, []byte(`{"error":{"root_cause":[{"type":"security_exception","reason":"missing authentication credentials"}]},"status":401}`)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("401: %v", err)
	}
	if err := checkResponse("ilm", 400, []byte(`{"error":"no handler found for uri [/_ilm/status] and method [GET]"}`)); !errors.Is(err, errNoHandler) {
		t.Errorf("no handler: %v", err)
	}
	if err := checkResponse("ilm", 405, []byte(`{"error":"Incorrect HTTP method for uri [/_ilm/policy] and method [GET], allowed: [POST]","status":405}`)); !errors.Is(err, errNoHandler) {
		t.Errorf("405: %v", err)
	}
	if err := checkResponse("x", 200, nil); err != nil {
		t.Errorf("200: %v", err)
	}
}

func TestPolicyBodies(t *testing.T) {
	t.Parallel()
	d, _ := LoadDefs(DefaultDefs(), "p_")
	x, _ := d.Index("activity")
	ilm := flatten(policyBody(x, "ilm"))
	if ilm["policy.phases.hot.actions.rollover.max_age"] != "1d" || ilm["policy.phases.delete.min_age"] != "90d" {
		t.Errorf("ilm %v", ilm)
	}
	ism := flatten(policyBody(x, "ism"))
	if ism["policy.states[0].actions[0].rollover.min_index_age"] != "1d" ||
		ism["policy.states[0].transitions[0].conditions.min_rollover_age"] != "90d" ||
		ism["policy.ism_template[0].index_patterns[0]"] != "p_quantx-activity-v*" {
		t.Errorf("ism %v", ism)
	}
	f := &features{lifecycle: "ilm"}
	if s := flatSettings(lifecycleSettings(x, f)); s["lifecycle.name"] != "p_quantx-activity-retention" || s["lifecycle.rollover_alias"] != "p_quantx-activity-write" {
		t.Errorf("ilm settings %v", s)
	}
	if lifecycleSettings(x, &features{}) != nil {
		t.Error("lifecycle settings without ILM/ISM: the server would reject them")
	}
}
