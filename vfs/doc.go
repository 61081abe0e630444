// Package vfs is a user's file system, the storage half of ferry's session
// core. FS is the interface every protocol (FTP, SFTP, HTTPS) goes
// through; NewLocal is the backend on the server's disk, NewMemory one in
// memory for tests, and package vfstest is the conformance suite both pass
// (and any later backend must).
//
// Paths are virtual ("/" is the home) and never leave it. A path that
// climbs above the home with ".." (as Join keeps it) is refused as
// ErrEscape; Clean stops at the home instead, for navigation. The local
// backend resolves every path through an os.Root, so neither an absolute
// path nor a symbolic link gets out either, and a new link is created
// only when its target, resolved through the links on the disk, stays
// inside. Failures are the sentinel errors of this package and of io/fs,
// translated from the system's error numbers in one place (kind and the
// errno_* tables), so each protocol maps them to its own replies with one
// table and errors.Is, and no error text carries a server path.
//
// Uploads are atomic: Create writes to a temporary file in TempDir, a
// reserved directory at the root of the home that no path can name, and
// Commit renames it over the final name (one file system, so the rename is
// atomic) only if every write succeeded. A failed write, Abort or a
// vanished client leave the final name as it was; CleanTemp removes what a
// killed server left behind. Resumed uploads (OpenAt) and SFTP's
// random-access writes (OpenRandom) go in place, as the client asked.
//
// Directories are listed in batches (Lister) in the backend's own order,
// so memory does not grow with the size of a directory. The fast paths
// are optional interfaces: the local upload is an io.ReaderFrom (splice(2)
// from a socket on Linux); the local file has no io.WriterTo, because a
// buffered copy measured faster than sendfile(2) for downloads.
package vfs
