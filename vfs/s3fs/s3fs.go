package s3fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-project/ferry/vfs"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Sizes of the upload path: see the package comment for what they bound.
const (
	// DefaultPartSize is the part size unless Options say otherwise: 10 000
	// parts of it (the multipart limit) make files up to 156 GiB.
	DefaultPartSize = 16 << 20
	// MinPartSize is the store's smallest part but the last one.
	MinPartSize = 5 << 20
	// Window is how far ahead of the next offset an SFTP write may land
	// and be held until the gap is filled.
	Window = 4 << 20
	// maxParts is S3's limit of parts in one multipart upload.
	maxParts = 10000
	// maxCopy is the largest part one server-side copy may make.
	maxCopy = 5 << 30
	// maxKey is S3's longest key, in bytes.
	maxKey = 1024
)

// Options are the credentials and sizes of an object store.
type Options struct {
	// AccessKey and SecretKey sign the requests; empty, they come from
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	AccessKey, SecretKey string
	// PartSize is the size of an upload's parts (MinPartSize or more);
	// 0 is DefaultPartSize.
	PartSize int64
}

// Location is a parsed storage URL:
// s3://bucket/prefix?endpoint=host:port&region=…&secure=false.
type Location struct {
	Bucket, Prefix string // Prefix is "" or ends with "/"
	Endpoint       string
	Region         string
	Secure         bool
}

// ErrURL is a storage URL that cannot be used.
var ErrURL = errors.New("bad storage URL")

// IsURL reports whether s names object storage rather than a folder.
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// Parse reads a storage URL. The endpoint defaults to AWS
// (s3.amazonaws.com) and secure to true.
func Parse(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return Location{}, fmt.Errorf("%w %q: want s3://bucket/prefix?endpoint=host:port&region=…&secure=false", ErrURL, s)
	}
	q := u.Query()
	l := Location{Bucket: u.Host, Endpoint: q.Get("endpoint"), Region: q.Get("region"), Secure: true}
	for k := range q {
		switch k {
		case "endpoint", "region", "secure":
		default:
			return Location{}, fmt.Errorf("%w %q: unknown parameter %q", ErrURL, s, k)
		}
	}
	if l.Endpoint == "" {
		l.Endpoint = "s3.amazonaws.com"
	}
	if v := q.Get("secure"); v != "" {
		if l.Secure, err = strconv.ParseBool(v); err != nil {
			return Location{}, fmt.Errorf("%w %q: secure=%q is not true or false", ErrURL, s, v)
		}
	}
	if p := strings.Trim(path.Clean("/"+u.Path), "/"); p != "" {
		l.Prefix = p + "/"
	}
	return l, nil
}

// Sub is the location of a folder under l (a user's home under the
// global storage).
func (l Location) Sub(name string) Location {
	l.Prefix += strings.Trim(name, "/") + "/"
	return l
}

// store is one bucket reached with one set of credentials.
type store struct {
	c        *minio.Core
	bucket   string
	partSize int64
}

var (
	storesMu sync.Mutex
	stores   = map[string]*store{}
)

// storeFor returns the client for l and o, made once per endpoint,
// bucket and credentials and shared by every session.
func storeFor(l Location, o Options) (*store, error) {
	part := o.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	if part < MinPartSize {
		return nil, fmt.Errorf("%w: part size %d is below S3's minimum of %d", ErrURL, part, MinPartSize)
	}
	id := strings.Join([]string{l.Endpoint, strconv.FormatBool(l.Secure), l.Region, l.Bucket, o.AccessKey, strconv.FormatInt(part, 10)}, "\x00")
	storesMu.Lock()
	defer storesMu.Unlock()
	if s := stores[id]; s != nil {
		return s, nil
	}
	creds := credentials.NewEnvAWS()
	if o.AccessKey != "" || o.SecretKey != "" {
		creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, "")
	}
	c, err := minio.NewCore(l.Endpoint, &minio.Options{Creds: creds, Secure: l.Secure, Region: l.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	s := &store{c: c, bucket: l.Bucket, partSize: part}
	stores[id] = s
	return s, nil
}

// FS is one home on object storage.
type FS struct {
	s        *store
	root     string // key prefix of the home: "" or ends with "/"
	readOnly bool
}

var _ vfs.FS = (*FS)(nil)

// Open returns the file system of the home at l. It does not reach the
// store: the first operation does.
func Open(l Location, o Options, readOnly bool) (*FS, error) {
	s, err := storeFor(l, o)
	if err != nil {
		return nil, err
	}
	return &FS{s: s, root: l.Prefix, readOnly: readOnly}, nil
}

// OpenURL is Open on a storage URL.
func OpenURL(u string, o Options, readOnly bool) (*FS, error) {
	l, err := Parse(u)
	if err != nil {
		return nil, err
	}
	return Open(l, o, readOnly)
}

func (f *FS) ReadOnly() bool { return f.readOnly }
func (f *FS) Close() error   { return nil }

// opTimeout bounds one metadata request (not a transfer).
const opTimeout = time.Minute

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// key maps a virtual path to its object key; "" is the home. The name is
// checked as every backend checks it (vfs.Rel).
func (f *FS) key(op, p string) (string, error) {
	r, err := vfs.Rel(op, p)
	if err != nil {
		return "", err
	}
	if r == "." {
		return "", nil
	}
	k := f.root + r
	if len(k)+1 > maxKey {
		return "", pathErr(op, p, vfs.ErrNameTooLong)
	}
	return k, nil
}

// writable is the key of p for an operation that changes something.
func (f *FS) writable(op, p string) (string, error) {
	if f.readOnly {
		return "", pathErr(op, p, vfs.ErrReadOnly)
	}
	return f.key(op, p)
}

func pathErr(op, p string, err error) error { return &fs.PathError{Op: op, Path: p, Err: err} }

// fail translates an error of the store into the vfs vocabulary; no text
// of the store reaches a client.
func fail(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	r := minio.ToErrorResponse(err)
	switch {
	case r.Code == "NoSuchKey" || r.Code == "NoSuchUpload" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket":
		return pathErr(op, p, fs.ErrNotExist)
	case r.Code == "AccessDenied" || r.StatusCode == http.StatusForbidden:
		return pathErr(op, p, fmt.Errorf("%w: %s", fs.ErrPermission, r.Code))
	case r.Code == "EntityTooLarge":
		return pathErr(op, p, fmt.Errorf("%w: %s", vfs.ErrNoSpace, r.Code))
	case r.Code == "KeyTooLongError":
		return pathErr(op, p, vfs.ErrNameTooLong)
	}
	return pathErr(op, p, fmt.Errorf("%w: %v", vfs.ErrIO, err))
}

// notFound reports an answer that says the key is not there.
func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket"
}

// info describes a file or folder.
type info struct {
	name  string
	size  int64
	dir   bool
	mtime time.Time
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return i.size }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i info) ModTime() time.Time { return i.mtime }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }

func baseName(p string) string {
	if b := path.Base(vfs.Clean("/", p)); b != "/" {
		return b
	}
	return "/"
}

// unsupported refuses an operation object storage cannot do, after the
// checks every backend makes, so a read-only user or an escape is told so.
func (f *FS) unsupported(op, p string) error {
	if _, err := f.writable(op, p); err != nil {
		return err
	}
	return pathErr(op, p, vfs.ErrNotSupported)
}

// envCredentials reports whether the environment holds credentials, for
// a clear error at start-up instead of a refused first request.
func envCredentials() bool {
	return os.Getenv("AWS_ACCESS_KEY_ID") != "" && os.Getenv("AWS_SECRET_ACCESS_KEY") != ""
}

// Check validates a storage URL and options at start-up.
func Check(u string, o Options) error {
	l, err := Parse(u)
	if err != nil {
		return err
	}
	if o.AccessKey == "" && o.SecretKey == "" && !envCredentials() {
		return fmt.Errorf("%w %q: no credentials: set s3.access_key and s3.secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", ErrURL, u)
	}
	_, err = storeFor(l, o)
	return err
}
