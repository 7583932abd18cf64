package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quantx/quantx-db/internal/s3store"
)

// compareArchiving runs `quantx-db retention apply` with archiving to S3
// against the seed-era alternative: `pg_dump -Fc -Z1 -t` of each expired
// partition streamed to the same bucket, then DELETE + VACUUM, baseline first
// when baselineFirst, and records both in sm.
func compareArchiving(ctx context.Context, admin, bin, pgbin, dbQ, dbD string, expire int, cutoff time.Time, idle time.Duration, baselineFirst bool, sm *sample) error {
	env := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			fail(fmt.Errorf("%s is not set (source the services env file)", k))
		}
		return v
	}
	endpoint, access, secret, bucket := env("QUANTX_TEST_S3_ENDPOINT"), env("QUANTX_TEST_S3_ACCESS_KEY"), env("QUANTX_TEST_S3_SECRET_KEY"), env("QUANTX_TEST_S3_BUCKET")
	prefix := fmt.Sprintf("bench-retention-%d/", time.Now().UnixNano())
	store, err := s3store.New(ctx, s3store.Config{Endpoint: endpoint, AccessKey: access, SecretKey: secret, Bucket: bucket, Prefix: prefix, Region: "us-east-1"})
	if err != nil {
		return err
	}
	defer func() {
		objs, _ := store.List(context.WithoutCancel(ctx), "")
		keys := make([]string, len(objs))
		for i, o := range objs {
			keys[i] = o.Key
		}
		_ = store.Remove(context.WithoutCancel(ctx), keys...)
	}()
	policy, err := os.CreateTemp("", "policy-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(policy.Name())
	fmt.Fprintf(policy, "postgres:\n  activity_logs:\n    keep: %d months\n    archive: true\n", 24-expire)
	policy.Close()

	ours := func() (result, error) {
		return measure(ctx, dbURL(admin, dbQ), "", idle, func(ctx context.Context, _ string) error {
			cmd := exec.CommandContext(ctx, bin, "retention", "apply", "--yes", "--policy", policy.Name(), "-o", "json")
			cmd.Env = append(os.Environ(), "QUANTX_DATABASE_URL="+dbURL(admin, dbQ), "QUANTX_NOW="+benchNow.Format(time.RFC3339),
				"QUANTX_S3_ENDPOINT="+endpoint, "QUANTX_S3_ACCESS_KEY="+access, "QUANTX_S3_SECRET_KEY="+secret,
				"QUANTX_S3_BUCKET="+bucket, "QUANTX_S3_PREFIX="+prefix+"quantx/")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%w\n%s", err, out)
			}
			return nil
		})
	}
	var dumpBytes int64
	theirs := func() (result, error) {
		return measure(ctx, dbURL(admin, dbD), "", idle, func(ctx context.Context, _ string) error {
			for m := range expire {
				name := fmt.Sprintf("activity_logs_y%s", benchNow.AddDate(0, m-24, 0).Format("2006m01"))
				cmd := exec.CommandContext(ctx, filepath.Join(pgbin, "pg_dump"), "-Fc", "-Z1", "-t", "public."+name, "-d", dbURL(admin, dbD))
				out, err := cmd.StdoutPipe()
				if err != nil {
					return err
				}
				if err := cmd.Start(); err != nil {
					return err
				}
				res, perr := store.Put(ctx, "pg_dump/"+name+".dump", out, nil)
				if err := cmd.Wait(); err != nil {
					return fmt.Errorf("pg_dump %s: %w", name, err)
				}
				if perr != nil {
					return perr
				}
				dumpBytes += res.Size
			}
			conn, err := pgx.Connect(ctx, dbURL(admin, dbD))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DELETE FROM activity_logs WHERE created_at < $1", cutoff); err != nil {
				return err
			}
			_, err = conn.Exec(ctx, "VACUUM activity_logs")
			return err
		})
	}
	if baselineFirst {
		if sm.arcD, err = theirs(); err == nil {
			sm.arcQ, err = ours()
		}
	} else {
		if sm.arcQ, err = ours(); err == nil {
			sm.arcD, err = theirs()
		}
	}
	if err != nil {
		return err
	}
	objs, err := store.List(ctx, "quantx/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		sm.arcBytes += o.Size
	}
	sm.dumpBytes = dumpBytes
	return nil
}
