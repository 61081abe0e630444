// Package store keeps ferry's users: names, password hashes, homes,
// read-only flags and SSH public keys. The default backend is an embedded
// SQLite database (no cgo) in the data directory; the Store interface is what
// a PostgreSQL backend for several nodes will implement later.
package store
