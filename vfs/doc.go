// Package vfs is a user's file system: every path a client names is
// resolved inside the user's home through os.Root, so neither "..", an
// absolute path nor a symbolic link can leave it. FTP, SFTP and HTTP all go
// through it. Uploads are atomic: they are written under a hidden temporary
// name and renamed into place only when the transfer completes, so a client
// that vanishes mid-transfer never leaves a half-written file under the name
// it asked for. Resumed uploads (an offset into an existing file) append in
// place, as the client asked.
package vfs
