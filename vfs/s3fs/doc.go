// Package s3fs is the vfs backend on S3-compatible object storage
// (github.com/minio/minio-go/v7), so that several ferry nodes can serve
// the same files and an upload needs no local disk.
//
// A home is a key prefix ("s3://bucket/prefix"); a file is an object and
// a folder is a key prefix, plus a zero-byte "name/" marker object for a
// folder made by Mkdir, so that an empty one exists.
//
// Uploads stream as multipart uploads of unknown size: the bytes are cut
// into parts of Options.PartSize kept in memory, one part filling while
// the one before is sent, so a transfer holds at most 2 × PartSize plus
// the reorder window of out-of-order writes (Window), 36 MiB with the
// defaults, and never a local temporary file. The first buffer starts at
// 64 KiB and doubles as bytes come: a small file costs little. Nothing is visible under the
// name until Commit completes the multipart upload, which the store makes
// atomic; Abort, a failed write or a failed part abort it, leaving no part
// behind. A resumed upload (OpenAt, OpenRandom at the end) starts a new
// multipart upload whose first parts are server-side copies of the bytes
// kept, then publishes prefix and new bytes in one Complete: the object
// store cannot append in place, but it can do this atomically. With
// uploads.interrupted = "keep" an interrupted upload is completed with the
// parts received (and the part being filled), so its client can resume it.
//
// SFTP writes at the next offset stream; writes ahead of it within Window
// are held in memory until the gap is filled; a write behind it (a rewrite
// of bytes already sent) or beyond the window is refused with
// vfs.ErrNotSupported, and the upload, which would miss bytes, is then
// discarded like after any failed write.
//
// Reads are ranged GETs pinned to the object's ETag, so a download, a REST
// or an SFTP read at an offset never mixes two versions of a file.
// Listings are ListObjectsV2 pages of the size the caller asks for, fetched
// as they are read.
//
// What object storage cannot do is refused with vfs.ErrNotSupported and
// changes nothing: modes, times, truncation to another size, symbolic and
// hard links, and renaming a folder that holds anything. A file rename is
// a server-side copy then a delete. A folder rename would be one copy and
// one delete per object: not atomic, as long as the folder is big, and a
// crash or a concurrent upload midway would leave the folder split between
// two names, so it is refused rather than half done (an empty folder, a
// single marker, is renamed).
package s3fs
