package migrations_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/quantx/quantx-db/migrations"
)

// Checksums of the shipped up files as every deployment recorded them before
// the files gained quantx:lint-ignore lines (sha256 of the bytes at the time).
var checksumsBeforeDirectives = map[string]string{
	"0001_types.up.sql":                        "2feea6f8f3735dcef0063fa1d700bf53f3ef2b3a4b99661217f27302dd5fe40c",
	"0002_identity.up.sql":                     "dc2f25cbd815a49b070daf3967d8ad20636c6e7084c4ba2845d4591679479802",
	"0003_portfolios.up.sql":                   "f9ec3dca3c88a85e590478b973f93e70aeeb4d5f3e6f747f6bababb2e5d6f566",
	"0004_orders_transactions.up.sql":          "21d91cc986ecdbe0c23aa52de0a728352f5f2be8aa9349725470e341d4104a50",
	"0005_risk_performance.up.sql":             "bb5da4b410c5f7bfa4b6b4dc4a1e91f19904beb71c09581841c175e673a52a1d",
	"0006_activity_logs.up.sql":                "fb827ffdccfcce80ecf139188c139ec601bae5b60bd928f373dac45cd5702fd2",
	"0007_functions.up.sql":                    "ced7836690bbee686737a6c835d7d0bc73eb0b357ac4f74fdd6dc14ff986327c",
	"0008_orders_retention_index.up.sql":       "3d97ffbb9450549f7c959ea2901966d4b6ba840f8d12092896db3b2e83c40b05",
	"0009_activity_logs_resource_index.up.sql": "cb8376af879edbb642def08cfe331198a8e65cb947287f94f51445dc3edfdfdf",
}

// withoutDirectives returns the shipped files as they were before lint
// directives were added: the same bytes minus the directive lines.
func withoutDirectives(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(migrations.Files(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Files(), p)
		if err != nil {
			return err
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if !strings.HasPrefix(l, migrations.LintIgnoreDirective) {
				kept = append(kept, l)
			}
		}
		out[p] = &fstest.MapFile{Data: []byte(strings.Join(kept, ""))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChecksumIgnoresLintDirectives: the shipped files now carry
// quantx:lint-ignore lines; their checksums are still those recorded before,
// so a database migrated before validates clean, while a real change to the
// SQL still shows as drift.
func TestChecksumIgnoresLintDirectives(t *testing.T) {
	ms, err := migrations.Load(migrations.Files())
	if err != nil {
		t.Fatal(err)
	}
	old := withoutDirectives(t)
	directives := 0
	for _, m := range ms {
		want, ok := checksumsBeforeDirectives[m.Up.Path]
		if !ok {
			continue // a migration added later
		}
		sum := sha256.Sum256(old[m.Up.Path].Data)
		if hex.EncodeToString(sum[:]) != want {
			t.Fatalf("%s minus its directive lines is not the file as it was: only whole directive lines may be added", m.Up.Path)
		}
		if m.Up.Checksum != want {
			t.Errorf("%s: checksum %s, recorded before directives %s", m.Up.Path, m.Up.Checksum, want)
		}
		directives += strings.Count(m.Up.SQL, migrations.LintIgnoreDirective)
	}
	if directives == 0 {
		t.Fatal("no shipped file has a lint directive: this test proves nothing")
	}

	// A database migrated from the files as they were before the directives.
	pool, _ := newPool(t)
	if _, err := newRunner(t, pool, old, migrations.Options{}).Up(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	val, err := newRunner(t, pool, migrations.Files(), migrations.Options{}).Validate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(val.Findings) != 0 || val.Checked != len(ms) {
		t.Fatalf("validate with the shipped files: checked %d of %d, findings %+v", val.Checked, len(ms), val.Findings)
	}

	// Rewording a directive is not drift; changing a statement is.
	edited := fstest.MapFS{}
	for p, f := range old {
		edited[p] = f
	}
	shipped, _ := fs.ReadFile(migrations.Files(), "0002_identity.up.sql")
	edited["0002_identity.up.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(string(shipped),
		"-- quantx:lint-ignore prefer-text-field", "  -- quantx:lint-ignore prefer-text-field,prefer-bigint-over-int reworded:", 1))}
	edited["0003_portfolios.up.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(string(old["0003_portfolios.up.sql"].Data),
		"DEFAULT 'USD'", "DEFAULT 'EUR'", 1))}
	val, err = newRunner(t, pool, edited, migrations.Options{}).Validate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(val.Findings) != 1 || val.Findings[0].Version != 3 || val.Findings[0].Kind != "checksum_mismatch" {
		t.Fatalf("want exactly one drift, in 0003 (a changed DEFAULT); got %+v", val.Findings)
	}
}

// A directive-looking line inside a function body is part of the function:
// changing it is drift.
func TestChecksumKeepsDirectivesInsideStatements(t *testing.T) {
	body := func(reason string) fstest.MapFS {
		return fstest.MapFS{"0001_f.up.sql": &fstest.MapFile{Data: []byte(
			"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n-- quantx:lint-ignore x " + reason + "\nSELECT 1\n$$;\n")}}
	}
	a, err := migrations.Load(body("one"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := migrations.Load(body("two"))
	if err != nil {
		t.Fatal(err)
	}
	if a[0].Up.Checksum == b[0].Up.Checksum {
		t.Fatal("a line inside a $$ body was left out of the checksum")
	}
}
