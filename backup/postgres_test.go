package backup_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"github.com/quantx/quantx-db/backup"
	"github.com/quantx/quantx-db/internal/testenv"
)

func TestPostgresRoundTrip(t *testing.T) {
	t.Parallel()
	src := quantxDatabase(t)
	cat, _, _ := newCatalogue(t, backup.Options{})
	ctx := t.Context()
	want := tableFingerprints(t, src.URL)

	m, err := cat.BackupPostgres(ctx, backup.PostgresBackup{DatabaseURL: src.URL, Checksums: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Size <= 0 || len(m.SHA256) != 64 || m.Encryption != "none" || len(m.Objects) != 2 || m.Database != src.Name {
		t.Fatalf("manifest: %+v", m)
	}
	if m.TableCounts["public.users"] != 2 {
		t.Errorf("manifest counts users %d, want 2", m.TableCounts["public.users"])
	}
	list, err := cat.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if v, err := cat.Verify(ctx, m.ID); err != nil || !v.OK {
		t.Fatalf("verify: %+v %v", v, err)
	}

	for _, jobs := range []int{1, 2} {
		dst := testenv.Postgres(t)
		res, err := cat.RestorePostgres(ctx, m.ID, backup.PostgresRestore{TargetURL: dst.URL, Jobs: jobs, Verify: true})
		if err != nil {
			t.Fatalf("restore jobs=%d: %v", jobs, err)
		}
		if res.Check == nil || !res.Check.OK || len(res.Check.Tables) != len(m.TableCounts) {
			t.Fatalf("restore check jobs=%d: %+v", jobs, res.Check)
		}
		assertSameTables(t, want, tableFingerprints(t, dst.URL))

		// A second restore into the now populated database is refused.
		_, err = cat.RestorePostgres(ctx, m.ID, backup.PostgresRestore{TargetURL: dst.URL})
		if !errors.Is(err, backup.ErrTargetNotEmpty) {
			t.Fatalf("restore into non-empty: %v, want ErrTargetNotEmpty", err)
		}
	}
}

// TestStockToolsRunbook follows the README runbook without quantx-db: download the object with a plain S3
// client, then pg_restore it.
func TestStockToolsRunbook(t *testing.T) {
	t.Parallel()
	src := quantxDatabase(t)
	cat, st, b := newCatalogue(t, backup.Options{})
	ctx := t.Context()
	m, err := cat.BackupPostgres(ctx, backup.PostgresBackup{DatabaseURL: src.URL})
	if err != nil {
		t.Fatal(err)
	}
	client, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dump.pgdump")
	if err := client.FGetObject(ctx, b.Bucket, st.FullKey(m.Key), file, minio.GetObjectOptions{}); err != nil {
		t.Fatalf("download %s: %v", st.FullKey(m.Key), err)
	}
	if !strings.HasPrefix(st.FullKey(m.Key), "quantx-db/backups/"+m.ID+"/") {
		t.Fatalf("key %s is not where the runbook says", st.FullKey(m.Key))
	}
	dst := testenv.Postgres(t)
	out, err := exec.CommandContext(ctx, "pg_restore", "--exit-on-error", "--dbname="+dst.URL, file).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	assertSameTables(t, tableFingerprints(t, src.URL), tableFingerprints(t, dst.URL))
	// globals.sql is plain SQL for psql.
	g, err := client.GetObject(ctx, b.Bucket, st.FullKey("backups/"+m.ID+"/globals.sql"), minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	globals, _ := io.ReadAll(g)
	if !strings.Contains(string(globals), "CREATE ROLE") || strings.Contains(string(globals), "PASSWORD 'SCRAM") {
		t.Fatalf("globals.sql: roles missing or passwords present:\n%s", globals)
	}
}

func TestPostgresEncryptedRoundTrip(t *testing.T) {
	t.Parallel()
	src := quantxDatabase(t)
	cat, st, _ := newCatalogue(t, backup.Options{})
	ctx := t.Context()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := backup.ParseRecipients(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	m, err := cat.BackupPostgres(ctx, backup.PostgresBackup{DatabaseURL: src.URL, Recipients: rs})
	if err != nil {
		t.Fatal(err)
	}
	if m.Encryption != "age" || !strings.HasSuffix(m.Key, ".pgdump.age") || len(m.Recipients) != 1 {
		t.Fatalf("manifest: %+v", m)
	}
	// The stored bytes are an age file, not a pg_dump archive.
	r, err := st.Get(ctx, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 21)
	io.ReadFull(r, head)
	r.Close()
	if !strings.HasPrefix(string(head), "age-encryption.org/v1") {
		t.Fatalf("object starts with %q", head)
	}
	dst := testenv.Postgres(t)
	if _, err := cat.RestorePostgres(ctx, m.ID, backup.PostgresRestore{TargetURL: dst.URL}); !errors.Is(err, backup.ErrEncrypted) {
		t.Fatalf("restore without identity: %v, want ErrEncrypted", err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	ids, err := backup.ReadIdentities(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cat.RestorePostgres(ctx, m.ID, backup.PostgresRestore{TargetURL: dst.URL, Identities: ids, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Check.OK {
		t.Fatalf("check: %+v", res.Check)
	}
	assertSameTables(t, tableFingerprints(t, src.URL), tableFingerprints(t, dst.URL))
}

func TestVerifyDetectsCorruption(t *testing.T) {
	t.Parallel()
	src := quantxDatabase(t)
	cat, st, _ := newCatalogue(t, backup.Options{})
	ctx := t.Context()
	m, err := cat.BackupPostgres(ctx, backup.PostgresBackup{DatabaseURL: src.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the dump in the bucket with same-size different bytes.
	r, _ := st.Get(ctx, m.Key)
	data, _ := io.ReadAll(r)
	r.Close()
	data[len(data)/2] ^= 0xff
	if _, err := st.PutBytes(ctx, m.Key, data, nil); err != nil {
		t.Fatal(err)
	}
	v, err := cat.Verify(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || v.Objects[0].OK || v.Objects[0].Problem == "" || !v.Objects[1].OK {
		t.Fatalf("verify of a corrupted dump: %+v", v)
	}
	// A restore reads the same bytes and refuses them too.
	dst := testenv.Postgres(t)
	if _, err := cat.RestorePostgres(ctx, m.ID, backup.PostgresRestore{TargetURL: dst.URL}); !errors.Is(err, backup.ErrChecksumMismatch) {
		t.Fatalf("restore of a corrupted dump: %v, want ErrChecksumMismatch", err)
	}
	// Missing object.
	if err := st.Remove(ctx, m.Key); err != nil {
		t.Fatal(err)
	}
	if v, err := cat.Verify(ctx, m.ID); err != nil || v.OK || v.Objects[0].Problem != "object missing" {
		t.Fatalf("verify of a missing dump: %+v %v", v, err)
	}
}

func TestPgDumpVersionMismatch(t *testing.T) {
	t.Parallel()
	src := testenv.Postgres(t)
	cat, st, _ := newCatalogue(t, backup.Options{})
	bin := t.TempDir()
	stub := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11 (Debian 14.11-1)'\n"
	for _, tool := range []string{"pg_dump", "pg_dumpall"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := cat.BackupPostgres(t.Context(), backup.PostgresBackup{DatabaseURL: src.URL, Tools: backup.PGTools{BinDir: bin}})
	if !errors.Is(err, backup.ErrVersionMismatch) || !strings.Contains(err.Error(), "14.11") || !strings.Contains(err.Error(), "PostgreSQL 15") {
		t.Fatalf("err = %v, want ErrVersionMismatch naming both versions", err)
	}
	if objs, _ := st.List(t.Context(), ""); len(objs) != 0 {
		t.Fatalf("a refused backup stored %d object(s)", len(objs))
	}
	_, err = cat.BackupPostgres(t.Context(), backup.PostgresBackup{DatabaseURL: src.URL, Tools: backup.PGTools{BinDir: t.TempDir()}})
	if !errors.Is(err, backup.ErrToolMissing) {
		t.Fatalf("err = %v, want ErrToolMissing", err)
	}
}

func TestParseToolMajor(t *testing.T) {
	tests := []struct {
		out   string
		major int
		ver   string
	}{
		{"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", 15, "15.18"},
		{"pg_restore (PostgreSQL) 17beta1", 17, "17"},
		{"pg_dump (PostgreSQL) 9.6.24", 9, "9.6"},
	}
	for _, tt := range tests {
		major, ver, err := backup.ParseToolMajor(tt.out)
		if err != nil || major != tt.major || ver != tt.ver {
			t.Errorf("ParseToolMajor(%q) = %d %q %v", tt.out, major, ver, err)
		}
	}
	if _, _, err := backup.ParseToolMajor("bash: pg_dump: not found"); err == nil {
		t.Error("garbage parsed")
	}
	if backup.ServerMajor(150018) != 15 || backup.ServerMajor(90624) == 9 {
		t.Error("ServerMajor")
	}
}
