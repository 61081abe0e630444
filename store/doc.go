// Package store keeps ferry's users: names, password hashes, homes,
// read-only flags and SSH public keys. Open is the one constructor that
// `ferry serve` and `ferry user` share; it picks the backend from the
// configuration, today always an embedded SQLite database (no cgo) in the
// data directory. The Store interface is what a PostgreSQL backend for
// several nodes will implement later. MakeHome is the home-folder policy
// for new users.
package store
