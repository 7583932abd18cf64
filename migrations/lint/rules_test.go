package lint

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEListsEveryRule keeps the README's lint table complete.
func TestREADMEListsEveryRule(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range Rules() {
		if !strings.Contains(readme, "| `"+r.ID+"` | "+string(r.Severity)+" |") {
			t.Errorf("README.md's lint table lacks %s (%s)", r.ID, r.Severity)
		}
		if r.Reason == "" || r.Fix == "" || r.Peers == "" {
			t.Errorf("rule %s lacks its reason, fix or peers", r.ID)
		}
	}
}
