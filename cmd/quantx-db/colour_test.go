package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/quantx/quantx-db/elastic"
	"github.com/quantx/quantx-db/internal/report"
	"github.com/quantx/quantx-db/stack"
)

// TestTablesColourBySeverity: every report's state column takes its colour
// from the state's severity. A skipped line is coloured (it used to be left
// plain), a pending search change ("changed" in elastic status) is not green,
// and a change provision made ("changed" too) is.
func TestTablesColourBySeverity(t *testing.T) {
	render := func(t *testing.T, write func(*bytes.Buffer) error) string {
		t.Helper()
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	st := withFixes(stack.Report{Items: []stack.Item{
		{Store: "postgres", Name: "migrations", State: report.StateOK},
		{Store: "elastic", Name: "configured", State: report.StateSkipped, Finding: stack.NotConfigured{Store: stack.Elastic}},
		{Store: "s3", Name: "backup postgres", State: report.StateWarn},
		{Store: "influx", Name: "drift", State: report.StateAction, Finding: stack.InfluxDrift{Changes: 2}},
		{Store: "postgres", Name: "connect", State: report.StateError},
	}})
	out := render(t, func(b *bytes.Buffer) error { return st.table().WriteColor(b) })
	for _, want := range []string{"\x1b[32mok", "\x1b[36mskipped", "\x1b[33mwarn", "\x1b[35maction", "\x1b[31merror"} {
		if !strings.Contains(out, want) {
			t.Errorf("status table: no %q in\n%q", want, out)
		}
	}
	if !strings.Contains(out, "set --elastic-url") {
		t.Errorf("status table has no fix for the skipped store:\n%s", out)
	}

	es := elastic.Status{Items: []elastic.ItemStatus{{Kind: "index", Name: "orders", State: elastic.StateChanged}}}
	out = render(t, func(b *bytes.Buffer) error { return elasticStatusTable(es).WriteColor(b) })
	if !strings.Contains(out, "\x1b[35mchanged") {
		t.Errorf("a pending search change is not coloured as needing action:\n%q", out)
	}

	pr := stack.ProvisionReport{Changed: true, Stores: []stack.StoreResult{{Store: stack.Postgres, Status: stack.StatusChanged,
		Applied: []stack.Step{{Part: "migrate", Op: "apply", Object: "0001_init.up.sql"}}}}}
	out = render(t, func(b *bytes.Buffer) error { return provisionTable(pr).WriteColor(b) })
	if !strings.Contains(out, "\x1b[32mchanged") || !strings.Contains(out, "migrate: applied 0001_init.up.sql") {
		t.Errorf("a change provision made:\n%q", out)
	}
}
