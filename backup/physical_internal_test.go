package backup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConfigFileRenderIsStableAndComplete(t *testing.T) {
	cf := ConfigFile{
		Repo: RepoConfig{Endpoint: "127.0.0.1:59443", Bucket: "b", Prefix: "quantx-db/", AccessKey: "ak", SecretKey: "sk",
			CAFile: "/etc/ssl/ca.pem", CipherPass: "long passphrase of the repository"},
		Stanza: "main", PGData: "/var/lib/postgresql/15/main", PGPort: 5432, PGSocketDir: "/var/run/postgresql",
		Options: map[string]string{"process-max": "4", "compress-type": "zst"},
	}
	a, err := cf.Render()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := cf.Render()
	if string(a) != string(b) {
		t.Fatal("two renders of the same settings differ: wal setup could never be idempotent")
	}
	f := parseINI(a)
	want := map[string]string{
		"repo1-type": "s3", "repo1-s3-endpoint": "127.0.0.1", "repo1-storage-port": "59443", "repo1-s3-bucket": "b",
		"repo1-s3-region": "us-east-1", "repo1-s3-uri-style": "path", "repo1-s3-key": "ak", "repo1-s3-key-secret": "sk",
		"repo1-path": "/quantx-db/pgbackrest", "repo1-storage-ca-file": "/etc/ssl/ca.pem", "repo1-cipher-type": "aes-256-cbc",
		"repo1-cipher-pass": "long passphrase of the repository", "repo1-retention-full": retentionOutOfReach, "repo1-bundle": "y",
		"process-max": "4", "compress-type": "zst",
	}
	for k, v := range want {
		if got := f.get("global", k); got != v {
			t.Errorf("[global] %s = %q, want %q", k, got, v)
		}
	}
	if f.get("main", "pg1-path") != cf.PGData || f.get("main", "pg1-port") != "5432" || f.get("main", "pg1-socket-path") != cf.PGSocketDir {
		t.Errorf("[main] section: %v", f["main"])
	}
	if strings.Index(string(a), "compress-type") > strings.Index(string(a), "process-max") {
		t.Error("extra options are not sorted")
	}

	bad := cf
	bad.Repo.SecretKey = "sk\nrepo1-path=/elsewhere"
	if _, err := bad.Render(); err == nil {
		t.Error("a line break in a value was accepted: it would inject options")
	}
	bad = cf
	bad.Options = map[string]string{"x": "1\n[other]"}
	if _, err := bad.Render(); err == nil {
		t.Error("a line break in an option was accepted")
	}
	bad = cf
	bad.Repo.Endpoint = "no-port"
	if _, err := bad.Render(); err == nil {
		t.Error("an endpoint without a port was accepted")
	}
}

func TestRepoPath(t *testing.T) {
	for prefix, want := range map[string]string{"quantx-db/": "/quantx-db/pgbackrest", "": "/pgbackrest", "/a//b/": "/a/b/pgbackrest"} {
		if got := (RepoConfig{Prefix: prefix}).Path(); got != want {
			t.Errorf("prefix %q: %q, want %q", prefix, got, want)
		}
	}
}

func TestArchiveQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/pgbackrest":        "/usr/bin/pgbackrest",
		"/etc/pg backrest/x.conf":    "'/etc/pg backrest/x.conf'",
		"/etc/100%/x.conf":           "'/etc/100%%/x.conf'", // PostgreSQL would expand %/ otherwise
		"/it's/x.conf":               `'/it'\''s/x.conf'`,
		"/var/lib/pgbackrest-1.conf": "/var/lib/pgbackrest-1.conf",
	} {
		if got := archiveQuote(in); got != want {
			t.Errorf("archiveQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestNormSetting(t *testing.T) {
	for _, c := range [][3]string{
		{"archive_mode", "true", "on"}, {"archive_mode", "On", "on"}, {"archive_mode", "always", "always"}, {"archive_mode", "0", "off"},
		{"archive_timeout", "60", "60"}, {"archive_timeout", "60s", "60"}, {"archive_timeout", "1min", "60"}, {"archive_timeout", "0", "0"},
		{"archive_command", "a %p", "a %p"},
	} {
		if got := normSetting(c[0], c[1]); got != c[2] {
			t.Errorf("normSetting(%s, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestSegmentArithmetic(t *testing.T) {
	const seg16 = 16 << 20
	for _, c := range [][2]string{
		{"000000010000000000000002", "000000010000000000000001"},
		{"0000000100000001000000FF", "0000000100000001000000FE"},
		{"000000010000000200000000", "0000000100000001000000FF"}, // 256 segments of 16 MiB per log file
		{"000000010000000000000000", ""},
	} {
		if got := prevSegment(c[0], seg16); got != c[1] {
			t.Errorf("prevSegment(%s) = %q, want %q", c[0], got, c[1])
		}
		if c[1] != "" && nextSegment(c[1], seg16) != c[0] {
			t.Errorf("nextSegment(%s) = %q, want %q", c[1], nextSegment(c[1], seg16), c[0])
		}
	}
	if got := prevSegment("000000010000000300000000", 64<<20); got != "00000001000000020000003F" {
		t.Errorf("64 MiB segments: %s", got)
	}
}

func TestCommitRecordAndLSN(t *testing.T) {
	out := `rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/04016040, prev 0/04015FE8, desc: COMMIT 2026-11-30 09:00:30.584902 UTC
rmgr: Transaction len (rec/tot):     34/    34, tx:        726, lsn: 0/040160A8, prev 0/04016068, desc: ABORT 2026-11-30 09:00:32.692495 UTC
rmgr: Transaction len (rec/tot):     77/    77, tx:        727, lsn: 1/00000028, prev 0/FFFFFFD0, desc: COMMIT_PREPARED 5: 2026-11-30 09:00:33 UTC`
	ms := commitRecord.FindAllStringSubmatch(out, -1)
	if len(ms) != 3 || ms[0][1] != "0/04016040" || ms[1][2] != "2026-11-30 09:00:32.692495" || ms[2][2] != "2026-11-30 09:00:33" {
		t.Fatalf("matches: %q", ms)
	}
	lsn, err := ParseLSN(ms[2][1])
	if err != nil || lsn != 1<<32|0x28 || FormatLSN(lsn) != "1/28" {
		t.Fatalf("ParseLSN(%s) = %X, %v", ms[2][1], lsn, err)
	}
	if _, err := ParseLSN("04016040"); err == nil {
		t.Error("an LSN without '/' was accepted")
	}
}

func TestPgBackRestErrors(t *testing.T) {
	stderr := `WARN: something
ERROR: [103]: unable to find a valid repository:
       repo1: [HostConnectError] unable to load info file 'x'
       HostConnectError: unable to connect to '127.0.0.1:1': [111] Connection refused
       HINT: archive.info cannot be opened but is required to push/get WAL segments.
`
	errs := pgbackrestErrors(stderr)
	want := "ERROR: [103]: unable to find a valid repository: repo1: [HostConnectError] unable to load info file 'x' HostConnectError: unable to connect to '127.0.0.1:1': [111] Connection refused"
	if len(errs) != 1 || errs[0] != want {
		t.Fatalf("errors: %q", errs)
	}
	log := `-------------------PROCESS START-------------------
2026-11-30 09:33:03.941 P00  ERROR: [082]: first
-------------------PROCESS START-------------------
2026-11-30 09:34:03.941 P00  ERROR: [103]: second:
                                    cause
`
	name := filepath.Join(t.TempDir(), "main-archive-push.log")
	if err := os.WriteFile(name, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := lastLogError(name); got != "ERROR: [103]: second: cause" {
		t.Fatalf("lastLogError: %q", got)
	}
}

// info is a trimmed `pgbackrest info --output=json` of pgBackRest 2.45 with a full and an incr.
const info = `[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000008","min":"000000010000000000000001"}],
"backup":[
{"archive":{"start":"000000010000000000000002","stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.45"},
 "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":22992577,"repository":{"delta":3043492,"size":3043492},"size":22992577},
 "label":"20261130-090018F","lsn":{"start":"0/2000028","stop":"0/3000050"},"prior":null,"reference":null,
 "timestamp":{"start":1796029218,"stop":1796029226},"type":"full"},
{"archive":{"start":"000000010000000000000006","stop":"000000010000000000000006"},"backrest":{"format":5,"version":"2.45"},
 "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":1800000,"repository":{"delta":243500,"size":3043492},"size":23000000},
 "label":"20261130-090018F_20261130-090811I","lsn":{"start":"0/6000028","stop":"0/6000100"},"prior":"20261130-090018F","reference":["20261130-090018F"],
 "timestamp":{"start":1796029691,"stop":1796029692},"type":"incr"}],
"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7713886717325533402,"version":"15"}],"name":"main",
"repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]`

func TestParseInfoAndPlanPhysicalPrune(t *testing.T) {
	si, err := parseInfo([]byte(info), "main")
	if err != nil {
		t.Fatal(err)
	}
	if err := si.usable(); err != nil {
		t.Fatal(err)
	}
	if lo, hi := si.archiveRange(); lo != "000000010000000000000001" || hi != "000000010000000000000008" {
		t.Fatalf("archive range %s..%s", lo, hi)
	}
	var ms []Manifest
	for _, b := range si.sets() {
		ms = append(ms, si.manifest(b, "/quantx-db/pgbackrest"))
	}
	full, incr := ms[0], ms[1]
	if full.Kind != KindPhysical || full.Physical.Type != "full" || full.Physical.WALStart != "000000010000000000000002" ||
		full.Physical.WALStop != "000000010000000000000003" || full.Size != 3043492 || full.Encryption != "none" ||
		!full.FinishedAt.Equal(time.Unix(1796029226, 0)) || full.Physical.RepoPath != "/quantx-db/pgbackrest/backup/main/20261130-090018F" {
		t.Fatalf("full: %+v %+v", full, full.Physical)
	}
	if incr.Physical.Prior != full.ID || len(incr.Physical.Reference) != 1 {
		t.Fatalf("incr: %+v", incr.Physical)
	}
	// keep-last 1 keeps the incr, and so the full it is built on.
	ds := PlanPhysicalPrune(ms, Policy{KeepLast: 1})
	if len(ds) != 2 || !ds[0].Keep || !ds[1].Keep || ds[1].Reasons[len(ds[1].Reasons)-1] != "needed by "+incr.ID {
		t.Fatalf("decisions: %+v", ds)
	}
	if _, err := parseInfo([]byte(info), "other"); err == nil {
		t.Error("a stanza missing from the output was accepted")
	}
	si.Status.Code, si.Status.Message = infoCipherMismatch, "requested cipher mismatch"
	if err := si.usable(); err == nil || !strings.Contains(err.Error(), "cipher") {
		t.Errorf("status 4: %v", err)
	}
}

func TestRecoveryWindow(t *testing.T) {
	e := time.Date(2026, 11, 30, 9, 0, 27, 0, time.UTC)
	l := e.Add(time.Hour)
	w := RecoveryWindow{Earliest: &e, Latest: &l}
	for _, c := range []struct {
		t    time.Time
		want bool
	}{{e.Add(-time.Nanosecond), false}, {e, true}, {e.Add(30 * time.Minute), true}, {l, false}, {l.Add(time.Second), false}} {
		if got := w.Contains(c.t); got != c.want {
			t.Errorf("Contains(%s) = %t", c.t, got)
		}
	}
	if s := (&WindowError{Target: e.Add(-time.Hour), Window: w}).Error(); !strings.Contains(s, "2026-11-30T09:00:27Z to 2026-11-30T10:00:27Z") {
		t.Errorf("window error does not name the window: %s", s)
	}
	if (RecoveryWindow{}).Contains(e) {
		t.Error("an empty window (no backup) contains a time")
	}
}

func TestReadPostmaster(t *testing.T) {
	dir := t.TempDir()
	pid := os.Getpid() // alive
	body := strings.Join([]string{strconv.Itoa(pid), dir, "1796029218", "5433", "/var/run/postgresql", "127.0.0.1", "  5432001 0", "ready   "}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	pm, err := readPostmaster(dir)
	if err != nil || pm.Port != 5433 || pm.SocketDir != "/var/run/postgresql" || pm.PID != pid {
		t.Fatalf("%+v %v", pm, err)
	}
	if s := pm.connString("it's"); !strings.Contains(s, `dbname='it\'s'`) || !strings.Contains(s, "host='/var/run/postgresql' port=5433") {
		t.Errorf("connString: %s", s)
	}
	if _, err := readPostmaster(t.TempDir()); err == nil {
		t.Error("a data directory without postmaster.pid counts as running")
	}
}
