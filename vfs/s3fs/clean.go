package s3fs

import (
	"context"
	"fmt"
	"time"
)

// AbortStale aborts the multipart uploads under l's prefix that were
// started before `before`: the uploads a killed server left unfinished
// (the counterpart of vfs.CleanTemp). It returns how many it aborted.
func AbortStale(ctx context.Context, l Location, o Options, before time.Time) (int, error) {
	s, err := storeFor(l, o)
	if err != nil {
		return 0, err
	}
	n := 0
	for u := range s.c.ListIncompleteUploads(ctx, s.bucket, l.Prefix, true) {
		if u.Err != nil {
			return n, u.Err
		}
		if !u.Initiated.Before(before) {
			continue
		}
		if err := s.c.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Ping reports whether the bucket of l answers and exists, for the load
// balancer's health check.
func Ping(ctx context.Context, l Location, o Options) error {
	s, err := storeFor(l, o)
	if err != nil {
		return err
	}
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %s does not exist", s.bucket)
	}
	return nil
}
