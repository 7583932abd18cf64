package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quantx/quantx-db/internal/influxclient"
)

// InfluxDB 2.x has no influxd backup -portable; its HTTP API serves the same pieces, which is what the
// separate `influx backup` CLI calls (that CLI's module is not installable everywhere, the API is):
//
//	GET  /api/v2/backup/metadata          multipart: kv, sql, buckets (per bucket: its shard groups)
//	GET  /api/v2/backup/shards/{id}       a tar of one shard's files
//	POST /api/v2/restore/bucketMetadata   creates the bucket and its shards, returns old→new shard IDs
//	POST /api/v2/restore/shards/{newID}   loads one shard's tar
//
// quantx-db backs up buckets, not the whole server: the kv and sql parts (users, tokens, tasks,
// dashboards) are skipped, so a restore never overwrites the target server's metadata. Tasks and DBRP
// mappings come back with 'quantx-db influx setup'.

// influxV2Format names the archive layout: buckets.json (the server's bucket manifests), one
// shard-<id>.tar per shard, and skipped-shards.json (shards that were gone when read).
const influxV2Format = "tar.gz of an InfluxDB 2.x API backup (buckets.json + shard-<id>.tar)"

// influxV2 backs up and restores the buckets of a database through the 2.x HTTP API.
type influxV2 struct {
	client *influxclient.Client
	org    string // backup: only buckets of this organization; restore: into it ("" as recorded)
	log    *slog.Logger
}

// bucketView is what quantx-db reads of a bucket manifest; the manifest itself is kept as raw JSON and
// sent back unchanged but for its name and organization.
type bucketView struct {
	OrganizationID    string `json:"organizationID"`
	OrganizationName  string `json:"organizationName"`
	BucketName        string `json:"bucketName"`
	RetentionPolicies []struct {
		ShardGroups []struct {
			Shards []struct {
				ID uint64 `json:"id"`
			} `json:"shards"`
		} `json:"shardGroups"`
	} `json:"retentionPolicies"`
}

func (b bucketView) shardIDs() []uint64 {
	var ids []uint64
	for _, rp := range b.RetentionPolicies {
		for _, sg := range rp.ShardGroups {
			for _, sh := range sg.Shards {
				ids = append(ids, sh.ID)
			}
		}
	}
	return ids
}

// ofDatabase reports whether bucket belongs to database: named after it, or database/<tier>.
func ofDatabase(bucket, database string) bool {
	return bucket == database || strings.HasPrefix(bucket, database+"/")
}

func (e *influxV2) format() string { return influxV2Format }

func (e *influxV2) tool(context.Context) (string, error) { return "InfluxDB 2.x HTTP backup API", nil }

// operator adds what a refused token needs: the backup API is for operator tokens only.
func operator(err error) error {
	if errors.Is(err, influxclient.ErrUnauthorized) {
		return fmt.Errorf("%w (backup and restore need an operator token)", err)
	}
	return err
}

func (e *influxV2) exists(ctx context.Context, database string) (found, known bool, err error) {
	buckets, err := e.buckets(ctx, database)
	return len(buckets) > 0, err == nil, err
}

// buckets returns the bucket manifests of database (of e.org when set).
func (e *influxV2) buckets(ctx context.Context, database string) ([]json.RawMessage, error) {
	all, err := e.bucketManifests(ctx)
	if err != nil {
		return nil, operator(err)
	}
	var chosen []json.RawMessage
	for _, raw := range all {
		var b bucketView
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("bucket manifest: %w", err)
		}
		if ofDatabase(b.BucketName, database) && (e.org == "" || b.OrganizationName == e.org) {
			chosen = append(chosen, raw)
		}
	}
	return chosen, nil
}

func (e *influxV2) backup(ctx context.Context, o InfluxBackup, dir string) error {
	chosen, err := e.buckets(ctx, o.Database)
	if err != nil {
		return err
	}
	list, _ := json.Marshal(chosen)
	if err := os.WriteFile(filepath.Join(dir, "buckets.json"), list, 0o600); err != nil {
		return err
	}
	// Shards go to files first: a tar entry needs its size before its bytes.
	skipped := []uint64{}
	n := 0
	for _, raw := range chosen {
		var b bucketView
		json.Unmarshal(raw, &b) // read once already by buckets
		for _, sh := range b.shardIDs() {
			err := e.downloadShard(ctx, sh, filepath.Join(dir, fmt.Sprintf("shard-%d.tar", sh)))
			if influxclient.IsNotFound(err) {
				// Listed in the metadata, gone when read: expired by retention or deleted meanwhile, or
				// created by a write still in flight (its shard is made a moment after its shard
				// group). Either way it holds nothing written before the backup began, as InfluxData's
				// own `influx backup` reasons ("Shard removed during backup").
				e.log.WarnContext(ctx, "shard gone during backup", "bucket", b.BucketName, "shard", sh)
				skipped = append(skipped, sh)
				continue
			}
			if err != nil {
				return fmt.Errorf("shard %d: %w", sh, operator(err))
			}
			n++
		}
	}
	list, _ = json.Marshal(skipped)
	if err := os.WriteFile(filepath.Join(dir, "skipped-shards.json"), list, 0o600); err != nil {
		return err
	}
	e.log.InfoContext(ctx, "influx 2.x buckets read", "buckets", len(chosen), "shards", n, "skipped", len(skipped))
	return nil
}

// restore creates every bucket of the backup under the target name (database/<tier> keeps its tier),
// refusing before any change when one of them exists, and loads their shards.
func (e *influxV2) restore(ctx context.Context, m Manifest, dir, target string) error {
	list, err := os.ReadFile(filepath.Join(dir, "buckets.json"))
	if err != nil {
		return fmt.Errorf("archive has no buckets.json: %w", err)
	}
	var buckets []map[string]json.RawMessage
	if err := json.Unmarshal(list, &buckets); err != nil {
		return fmt.Errorf("buckets.json: %w", err)
	}
	var skipped []uint64
	if b, err := os.ReadFile(filepath.Join(dir, "skipped-shards.json")); err == nil {
		if err := json.Unmarshal(b, &skipped); err != nil {
			return fmt.Errorf("skipped-shards.json: %w", err)
		}
	}
	orgID := ""
	if e.org != "" {
		if orgID, err = e.orgID(ctx, e.org); err != nil {
			return operator(err)
		}
	}
	// Name every target bucket and check them all before the first change.
	names := make([]string, len(buckets))
	for i, b := range buckets {
		var old string
		if err := json.Unmarshal(b["bucketName"], &old); err != nil {
			return fmt.Errorf("buckets.json: bucketName: %w", err)
		}
		names[i] = target + strings.TrimPrefix(old, m.Database)
		if orgID != "" {
			b["organizationID"], _ = json.Marshal(orgID)
		}
		var org string
		json.Unmarshal(b["organizationID"], &org)
		exists, err := e.bucketExists(ctx, names[i], org)
		if err != nil {
			return operator(err)
		}
		if exists {
			return fmt.Errorf("bucket %s: %w", names[i], ErrDatabaseExists)
		}
	}
	for i, b := range buckets {
		b["bucketName"], _ = json.Marshal(names[i])
		mapping, err := e.restoreBucket(ctx, b)
		if err != nil {
			return fmt.Errorf("bucket %s: %w", names[i], operator(err))
		}
		for _, sm := range mapping.ShardMappings {
			if slices.Contains(skipped, sm.OldID) {
				continue // gone during the backup: the restored shard stays empty
			}
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("shard-%d.tar", sm.OldID)))
			if err != nil {
				return fmt.Errorf("bucket %s: shard %d is not in the archive: %w", names[i], sm.OldID, err)
			}
			err = e.restoreShard(ctx, sm.NewID, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("bucket %s: shard %d: %w", names[i], sm.OldID, operator(err))
			}
		}
		e.log.InfoContext(ctx, "bucket restored", "backup", m.ID, "bucket", names[i], "shards", len(mapping.ShardMappings))
	}
	return nil
}

// bucketManifests reads the "buckets" part of /api/v2/backup/metadata (the kv and sql parts are skipped).
func (e *influxV2) bucketManifests(ctx context.Context) ([]json.RawMessage, error) {
	resp, err := e.client.Do(ctx, influxclient.Request{Method: http.MethodGet, Path: "/api/v2/backup/metadata", Stream: true, Retry: true})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("backup metadata: not a multipart answer (%q)", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, errors.New("backup metadata: no buckets part")
		}
		if err != nil {
			return nil, fmt.Errorf("backup metadata: %w", err)
		}
		// The server sends `attachment; name="buckets"`: FormName only reads form-data.
		if _, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition")); dp["name"] != "buckets" {
			continue // NextPart discards the rest of this one
		}
		var out []json.RawMessage
		if err := json.NewDecoder(part).Decode(&out); err != nil {
			return nil, fmt.Errorf("backup metadata: buckets: %w", err)
		}
		return out, nil
	}
}

// downloadShard writes one shard's tar to path. A transient answer (500 "snapshots disabled" while
// writes reach the shard, see influxclient.Transient) is retried; so is a download cut short.
func (e *influxV2) downloadShard(ctx context.Context, id uint64, path string) error {
	for attempt := 1; ; attempt++ {
		resp, err := e.client.Do(ctx, influxclient.Request{Method: http.MethodGet, Path: fmt.Sprintf("/api/v2/backup/shards/%d", id), Stream: true, Retry: true})
		if err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			resp.Body.Close()
			return err
		}
		_, err = io.Copy(f, resp.Body)
		resp.Body.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil || ctx.Err() != nil || attempt == 3 {
			return err
		}
		e.log.WarnContext(ctx, "shard download cut short; again", "shard", id, "attempt", attempt, "error", err)
	}
}

func (e *influxV2) orgID(ctx context.Context, name string) (string, error) {
	resp, err := e.client.Do(ctx, influxclient.Request{Method: http.MethodGet, Path: "/api/v2/orgs", Query: url.Values{"org": {name}}, Retry: true})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Orgs []struct{ ID, Name string } `json:"orgs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("orgs: %w", err)
	}
	for _, o := range out.Orgs {
		if o.Name == name {
			return o.ID, nil
		}
	}
	return "", fmt.Errorf("organization %q not found", name)
}

func (e *influxV2) bucketExists(ctx context.Context, name, orgID string) (bool, error) {
	q := url.Values{"name": {name}}
	if orgID != "" {
		q.Set("orgID", orgID)
	}
	resp, err := e.client.Do(ctx, influxclient.Request{Method: http.MethodGet, Path: "/api/v2/buckets", Query: q, Retry: true})
	if influxclient.IsNotFound(err) {
		return false, nil // 2.7 answers a lookup by name with 404 when there is none
	}
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Buckets []struct{ Name string } `json:"buckets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, fmt.Errorf("buckets: %w", err)
	}
	for _, b := range out.Buckets {
		if b.Name == name {
			return true, nil
		}
	}
	return false, nil
}

type restoredBucket struct {
	ShardMappings []struct {
		OldID uint64 `json:"oldId"`
		NewID uint64 `json:"newId"`
	} `json:"shardMappings"`
}

func (e *influxV2) restoreBucket(ctx context.Context, manifest map[string]json.RawMessage) (restoredBucket, error) {
	body, err := json.Marshal(manifest)
	if err != nil {
		return restoredBucket{}, err
	}
	// Not retried: a bucket created by an attempt whose answer was lost would make the next one fail.
	resp, err := e.client.Do(ctx, influxclient.Request{Method: http.MethodPost, Path: "/api/v2/restore/bucketMetadata",
		Body: strings.NewReader(string(body)), ContentType: "application/json"})
	if err != nil {
		return restoredBucket{}, err
	}
	defer resp.Body.Close()
	var out restoredBucket
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return restoredBucket{}, fmt.Errorf("restore bucket answer: %w", err)
	}
	return out, nil
}

func (e *influxV2) restoreShard(ctx context.Context, newID uint64, tarFile *os.File) error {
	// Loading a shard replaces its files: running it again is harmless, so transient answers are retried.
	resp, err := e.client.Do(ctx, influxclient.Request{Method: http.MethodPost, Path: fmt.Sprintf("/api/v2/restore/shards/%d", newID),
		Body: tarFile, ContentType: "application/octet-stream", Stream: true, Retry: true})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
