package s3fs_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ferry-project/ferry/internal/s3test"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/s3fs"
	"github.com/ferry-project/ferry/vfs/vfstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// part is the smallest part S3 takes, so that a few MiB make several.
const part = s3fs.MinPartSize

var homes atomic.Int64

// home opens a new empty home on the gateway, read-write and read-only,
// and returns its bucket.
func home(t *testing.T, g *s3test.Gateway, bucket string) (rw, ro *s3fs.FS) {
	t.Helper()
	u := g.URL(bucket, "home"+strconv.FormatInt(homes.Add(1), 10))
	rw, err := s3fs.OpenURL(u, s3test.Options(part), false)
	if err != nil {
		t.Fatal(err)
	}
	ro, err = s3fs.OpenURL(u, s3test.Options(part), true)
	if err != nil {
		t.Fatal(err)
	}
	return rw, ro
}

// TestConformance runs the storage suite against versitygw, with what
// object storage cannot do declared.
func TestConformance(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	vfstest.RunCaps(t, func(t *testing.T) (vfs.FS, vfs.FS) {
		rw, ro := home(t, g, bucket)
		return rw, ro
	}, vfstest.Caps{NoLinks: true, NoAttributes: true, NoRandomWrite: true, NoFolderRename: true})
	if left := g.Incomplete(t, bucket); len(left) > 0 {
		t.Errorf("multipart uploads left open: %q", left)
	}
}

// noneOpen fails the test if the bucket holds an unfinished multipart
// upload.
func noneOpen(t *testing.T, g *s3test.Gateway, bucket string) {
	t.Helper()
	if left := g.Incomplete(t, bucket); len(left) > 0 {
		t.Errorf("multipart uploads left open: %q", left)
	}
}

// TestMultipart: an upload of several parts is invisible until Commit,
// then whole; an aborted one and one whose write was refused leave
// neither the name nor a part.
func TestMultipart(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	f, _ := home(t, g, bucket)
	data := testutil.RandomBytes(3*part+12345, 1)

	u, err := f.Create("/big")
	if err != nil {
		t.Fatal(err)
	}
	for b := data; len(b) > 0; {
		n := min(len(b), 100_000)
		if _, err := u.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if _, err := f.Stat("/big"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat before Commit: %v", err)
	}
	if open := g.Incomplete(t, bucket); len(open) != 1 {
		t.Errorf("a multi-part upload in progress: %q open, want 1", open)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vfstest.Get(t, f, "/big"), data) {
		t.Error("the committed object differs")
	}
	noneOpen(t, g, bucket)

	u, _ = f.Create("/aborted")
	u.Write(data)
	if err := u.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat("/aborted"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after Abort: %v", err)
	}
	noneOpen(t, g, bucket)

	// A write behind what was sent poisons the upload: Commit discards it.
	u, _ = f.Create("/big")
	u.Write(data[:2*part])
	_, err = u.WriteAt([]byte("x"), 10)
	vfstest.Is(t, "a write behind the stream", err, vfs.ErrNotSupported)
	_, err = u.Write(data[2*part:])
	vfstest.Is(t, "a write after a refused one", err, vfs.ErrNotSupported)
	vfstest.Is(t, "Commit after a refused write", u.Commit(), vfs.ErrNotSupported)
	if !bytes.Equal(vfstest.Get(t, f, "/big"), data) {
		t.Error("a failed upload changed the object")
	}
	noneOpen(t, g, bucket)
}

// TestReorder: SFTP writes that arrive out of order within the window are
// put back in order; one beyond the window is refused.
func TestReorder(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	f, _ := home(t, g, bucket)
	const chunk = 32 << 10
	data := testutil.RandomBytes(2*part+chunk*7+5, 2)
	u, err := f.Create("/r")
	if err != nil {
		t.Fatal(err)
	}
	// Pairs swapped: 1, 0, 3, 2, ...
	n := (len(data) + chunk - 1) / chunk
	for i := 0; i < n; i += 2 {
		for _, j := range []int{i + 1, i} {
			if j >= n {
				continue
			}
			end := min((j+1)*chunk, len(data))
			if _, err := u.WriteAt(data[j*chunk:end], int64(j*chunk)); err != nil {
				t.Fatalf("chunk %d: %v", j, err)
			}
		}
	}
	if fi, err := u.Stat(); err != nil || fi.Size() != int64(len(data)) {
		t.Errorf("Stat of the upload: %v %v", fi, err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(vfstest.Get(t, f, "/r"), data) {
		t.Error("reordered upload differs")
	}
	// A gap never filled reads as zeros, as on a disk.
	u, _ = f.Create("/hole")
	u.WriteAt([]byte("b"), 3)
	u.WriteAt([]byte("a"), 0)
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := vfstest.Get(t, f, "/hole"); string(got) != "a\x00\x00b" {
		t.Errorf("hole: %q", got)
	}
	u, _ = f.Create("/far")
	_, err = u.WriteAt([]byte("x"), s3fs.Window+1)
	vfstest.Is(t, "a write beyond the window", err, vfs.ErrNotSupported)
	vfstest.Is(t, "Commit after it", u.Commit(), vfs.ErrNotSupported)
	if _, err := f.Stat("/far"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused upload was published: %v", err)
	}
	noneOpen(t, g, bucket)
}

// TestResume: a resume past the first part copies the bytes kept on the
// server; an append at the end of the file works the same; an
// interrupted resume (Abort) keeps what arrived.
func TestResume(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	f, _ := home(t, g, bucket)
	old := testutil.RandomBytes(part+part/2, 3)
	vfstest.Put(t, f, "/f", old)
	at := int64(part + 1000)
	tail := testutil.RandomBytes(part/3, 4)
	u, err := f.OpenAt("/f", at)
	if err != nil {
		t.Fatal(err)
	}
	u.Write(tail)
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(old[:at]), tail...)
	if !bytes.Equal(vfstest.Get(t, f, "/f"), want) {
		t.Error("resume past a part differs")
	}
	u, err = f.OpenRandom("/f")
	if err != nil {
		t.Fatal(err)
	}
	u.WriteAt([]byte("end"), int64(len(want)))
	_, err = u.WriteAt([]byte("x"), 0)
	vfstest.Is(t, "a write inside the file", err, vfs.ErrNotSupported)
	u.Abort()
	if !bytes.Equal(vfstest.Get(t, f, "/f"), want) {
		t.Error("a refused write changed the file")
	}
	u, _ = f.OpenAt("/f", -1)
	u.Write([]byte("more"))
	u.Abort() // interrupted in place: what arrived is kept
	want = append(want, "more"...)
	if !bytes.Equal(vfstest.Get(t, f, "/f"), want) {
		t.Error("an interrupted append was not kept")
	}
	noneOpen(t, g, bucket)
}

// TestRangedReads: reads at offsets, in order and not, as REST, Range and
// SFTP make them.
func TestRangedReads(t *testing.T) {
	g := s3test.Start(t)
	f, _ := home(t, g, g.Bucket(t))
	data := testutil.RandomBytes(1<<20+7, 5)
	vfstest.Put(t, f, "/d", data)
	r, err := f.Open("/d")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 4096)
	for _, off := range []int64{0, 4096, 8192, 100, 1 << 20, 1<<20 + 4} {
		n, err := r.ReadAt(buf, off)
		end := min(off+int64(len(buf)), int64(len(data)))
		if int64(n) != end-off || !bytes.Equal(buf[:n], data[off:end]) || (end < off+int64(len(buf))) != (err == io.EOF) {
			t.Errorf("ReadAt(%d) = %d %v", off, n, err)
		}
	}
	if _, err := r.Seek(1<<20, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data[1<<20:]) {
		t.Errorf("read after Seek: %d bytes, %v", len(rest), err)
	}
}

// TestFolderRename: an empty folder is renamed; one holding a file is
// refused and left whole.
func TestFolderRename(t *testing.T) {
	g := s3test.Start(t)
	f, _ := home(t, g, g.Bucket(t))
	f.Mkdir("/empty")
	if err := f.Rename("/empty", "/renamed"); err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat("/renamed"); err != nil || !fi.IsDir() {
		t.Errorf("renamed folder: %v %v", fi, err)
	}
	f.Mkdir("/full")
	vfstest.Put(t, f, "/full/x", []byte("x"))
	vfstest.Is(t, "rename of a folder with a file", f.Rename("/full", "/moved"), vfs.ErrNotSupported)
	if _, err := f.Stat("/moved"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused rename created the target: %v", err)
	}
	// A folder does not vanish with its last file.
	if err := f.Rename("/full/x", "/x"); err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat("/full"); err != nil || !fi.IsDir() {
		t.Errorf("folder after its last file moved out: %v %v", fi, err)
	}
}

func TestParse(t *testing.T) {
	l, err := s3fs.Parse("s3://b/p/q/?endpoint=h:9000&region=r&secure=false")
	if err != nil || l.Bucket != "b" || l.Prefix != "p/q/" || l.Endpoint != "h:9000" || l.Region != "r" || l.Secure {
		t.Errorf("Parse = %+v %v", l, err)
	}
	if l.Sub("bob").Prefix != "p/q/bob/" {
		t.Errorf("Sub = %q", l.Sub("bob").Prefix)
	}
	for _, bad := range []string{"s3:///p", "http://b/p", "s3://b/p?secure=maybe", "s3://b/p?acl=x", "s3://user@b/p"} {
		if _, err := s3fs.Parse(bad); !errors.Is(err, s3fs.ErrURL) {
			t.Errorf("Parse(%q) = %v, want ErrURL", bad, err)
		}
	}
}
