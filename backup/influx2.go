package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// influxV2Format names the archive layout: buckets.json (the server's bucket manifests) and one
// shard-<id>.tar per shard.
const influxV2Format = "tar.gz of an InfluxDB 2.x API backup (buckets.json + shard-<id>.tar)"

// ErrNoBuckets means a 2.x server has no bucket for the database being backed up.
var ErrNoBuckets = errors.New("no bucket of that database on the server")

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

func (c *Catalogue) backupInfluxV2(ctx context.Context, o InfluxBackup, serverVersion string, started time.Time) (Manifest, error) {
	id := NewID(started, KindInflux, o.Database)
	m := Manifest{FormatVersion: manifestFormat, ID: id, Kind: KindInflux, Database: o.Database,
		ServerVersion: serverVersion, ToolVersion: "InfluxDB 2.x HTTP backup API", QuantxVersion: c.o.ToolVersion,
		StartedAt: started, Format: influxV2Format, Encryption: encNone, Recipients: recipientStrings(o.Recipients)}
	if len(o.Recipients) > 0 {
		m.Encryption, m.Format = encAge, "age("+influxV2Format+")"
	}
	log := c.log.With("backup", id, "database", o.Database)
	api := influx2API{base: strings.TrimRight(o.URL, "/"), token: o.Token}
	all, err := api.bucketManifests(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	var chosen []json.RawMessage
	var shards []uint64
	for _, raw := range all {
		var b bucketView
		if err := json.Unmarshal(raw, &b); err != nil {
			return Manifest{}, fmt.Errorf("backup influx %s: bucket manifest: %w", o.Database, err)
		}
		if ofDatabase(b.BucketName, o.Database) && (o.Org == "" || b.OrganizationName == o.Org) {
			chosen = append(chosen, raw)
			shards = append(shards, b.shardIDs()...)
		}
	}
	if len(chosen) == 0 {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, ErrNoBuckets)
	}
	dir, err := os.MkdirTemp(o.TempDir, "quantx-db-influx-backup-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	defer os.RemoveAll(dir)
	list, _ := json.Marshal(chosen)
	if err := os.WriteFile(filepath.Join(dir, "buckets.json"), list, 0o600); err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	// Shards go to files first: a tar entry needs its size before its bytes.
	for _, sh := range shards {
		if err := api.downloadShard(ctx, sh, filepath.Join(dir, fmt.Sprintf("shard-%d.tar", sh))); err != nil {
			return Manifest{}, fmt.Errorf("backup influx %s: shard %d: %w", o.Database, sh, err)
		}
	}
	log.InfoContext(ctx, "influx 2.x buckets read", "buckets", len(chosen), "shards", len(shards))
	if err := c.uploadInfluxDir(ctx, &m, dir, o.Recipients); err != nil {
		return Manifest{}, fmt.Errorf("backup influx %s: %w", o.Database, err)
	}
	log.InfoContext(ctx, "backup finished", "bytes", m.Size)
	return m, nil
}

// restoreInfluxV2 creates every bucket of the backup under the target name (database/<tier> keeps its
// tier), refusing before any change when one of them exists, and loads their shards.
func (c *Catalogue) restoreInfluxV2(ctx context.Context, m Manifest, o InfluxRestore, res RestoreResult) (RestoreResult, error) {
	fail := func(err error) (RestoreResult, error) {
		return res, fmt.Errorf("restore influx %s as %s: %w", m.ID, res.Target, err)
	}
	if o.URL == "" {
		return fail(errors.New("the InfluxDB 2.x URL and an operator token are required"))
	}
	api := influx2API{base: strings.TrimRight(o.URL, "/"), token: o.Token}
	dir, err := os.MkdirTemp(o.TempDir, "quantx-db-influx-restore-*")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if res.Bytes, err = c.fetchInfluxArchive(ctx, m, o.Identities, dir); err != nil {
		return fail(err)
	}
	list, err := os.ReadFile(filepath.Join(dir, "buckets.json"))
	if err != nil {
		return fail(fmt.Errorf("archive has no buckets.json: %w", err))
	}
	var buckets []map[string]json.RawMessage
	if err := json.Unmarshal(list, &buckets); err != nil {
		return fail(fmt.Errorf("buckets.json: %w", err))
	}
	orgID := ""
	if o.Org != "" {
		if orgID, err = api.orgID(ctx, o.Org); err != nil {
			return fail(err)
		}
	}
	// Name every target bucket and check them all before the first change.
	names := make([]string, len(buckets))
	for i, b := range buckets {
		var old string
		if err := json.Unmarshal(b["bucketName"], &old); err != nil {
			return fail(fmt.Errorf("buckets.json: bucketName: %w", err))
		}
		names[i] = res.Target + strings.TrimPrefix(old, m.Database)
		if orgID != "" {
			b["organizationID"], _ = json.Marshal(orgID)
		}
		var org string
		json.Unmarshal(b["organizationID"], &org)
		exists, err := api.bucketExists(ctx, names[i], org)
		if err != nil {
			return fail(err)
		}
		if exists {
			return fail(fmt.Errorf("bucket %s: %w", names[i], ErrDatabaseExists))
		}
	}
	for i, b := range buckets {
		b["bucketName"], _ = json.Marshal(names[i])
		mapping, err := api.restoreBucket(ctx, b)
		if err != nil {
			return fail(fmt.Errorf("bucket %s: %w", names[i], err))
		}
		for _, sm := range mapping.ShardMappings {
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("shard-%d.tar", sm.OldID)))
			if err != nil {
				return fail(fmt.Errorf("bucket %s: shard %d is not in the archive: %w", names[i], sm.OldID, err))
			}
			err = api.restoreShard(ctx, sm.NewID, f)
			f.Close()
			if err != nil {
				return fail(fmt.Errorf("bucket %s: shard %d: %w", names[i], sm.OldID, err))
			}
		}
		c.log.InfoContext(ctx, "bucket restored", "backup", m.ID, "bucket", names[i], "shards", len(mapping.ShardMappings))
	}
	c.log.InfoContext(ctx, "restore finished", "backup", m.ID, "database", res.Target, "buckets", len(buckets))
	return res, nil
}

// influx2API is the slice of the InfluxDB 2.x HTTP API that backup and restore use.
type influx2API struct{ base, token string }

func (a influx2API) do(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Token "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxdb 2.x unreachable: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Message != "" {
			msg = []byte(e.Message)
		}
		text := fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			text += " (backup and restore need an operator token)"
		}
		return nil, &apiError{status: resp.StatusCode, text: text}
	}
	return resp, nil
}

// apiError is a non-2xx answer of the 2.x API.
type apiError struct {
	status int
	text   string
}

func (e *apiError) Error() string { return e.text }

// bucketManifests reads the "buckets" part of /api/v2/backup/metadata (the kv and sql parts are skipped).
func (a influx2API) bucketManifests(ctx context.Context) ([]json.RawMessage, error) {
	resp, err := a.do(ctx, http.MethodGet, "/api/v2/backup/metadata", nil, "")
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

func (a influx2API) downloadShard(ctx context.Context, id uint64, path string) error {
	resp, err := a.do(ctx, http.MethodGet, fmt.Sprintf("/api/v2/backup/shards/%d", id), nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a influx2API) orgID(ctx context.Context, name string) (string, error) {
	resp, err := a.do(ctx, http.MethodGet, "/api/v2/orgs?org="+url.QueryEscape(name), nil, "")
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

func (a influx2API) bucketExists(ctx context.Context, name, orgID string) (bool, error) {
	q := url.Values{"name": {name}}
	if orgID != "" {
		q.Set("orgID", orgID)
	}
	resp, err := a.do(ctx, http.MethodGet, "/api/v2/buckets?"+q.Encode(), nil, "")
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusNotFound {
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

func (a influx2API) restoreBucket(ctx context.Context, manifest map[string]json.RawMessage) (restoredBucket, error) {
	body, err := json.Marshal(manifest)
	if err != nil {
		return restoredBucket{}, err
	}
	resp, err := a.do(ctx, http.MethodPost, "/api/v2/restore/bucketMetadata", strings.NewReader(string(body)), "application/json")
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

func (a influx2API) restoreShard(ctx context.Context, newID uint64, tarFile io.Reader) error {
	resp, err := a.do(ctx, http.MethodPost, fmt.Sprintf("/api/v2/restore/shards/%d", newID), tarFile, "application/octet-stream")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
