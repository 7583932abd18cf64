package s3store

import (
	"context"
	"errors"
	"time"
)

// DefaultStaleAfter is how long an incomplete upload must have been idle before a sweep aborts it. A live
// upload stores a part every PartSize bytes, so it is never idle that long; an upload left by a killed
// process (or by a server that died under it) is.
const DefaultStaleAfter = 15 * time.Minute

// AbortStale aborts the incomplete multipart uploads under each prefix (relative to the store's) that
// have been idle for idle or longer: no part stored and not initiated within that time. idle 0 means
// DefaultStaleAfter; a negative idle aborts every one (only when nothing else can be uploading there).
//
// Idleness is measured with the wall clock against the server's timestamps, never with a pinned clock
// (QUANTX_NOW), which would make a live upload look stale. One upload that cannot be inspected or
// aborted does not stop the sweep: the others are still aborted, and the errors are returned together.
func (s *Store) AbortStale(ctx context.Context, idle time.Duration, prefixes ...string) ([]Upload, error) {
	if idle == 0 {
		idle = DefaultStaleAfter
	}
	cut := time.Now().Add(-idle)
	if idle < 0 {
		cut = time.Now().Add(24 * time.Hour) // everything, whatever the skew between here and the server
	}
	done := []Upload{}
	var errs []error
	for _, p := range prefixes {
		ups, err := s.AbortIncompleteBefore(ctx, p, cut)
		done = append(done, ups...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return done, errors.Join(errs...)
}
