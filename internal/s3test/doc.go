// Package s3test runs versitygw, a real S3 gateway, for the tests of the
// object-storage backend (vfs/s3fs) and of the protocols over it: one
// gateway per test binary on a free loopback port over a scratch folder,
// a new bucket per test, and the store's own list of unfinished multipart
// uploads to check that none is left behind.
package s3test
