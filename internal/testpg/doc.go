// Package testpg starts a private PostgreSQL server for tests: Debian's
// postgresql binaries, a fresh cluster in a temporary folder, listening on
// a loopback port of its own, stopped when the test ends. Tests of the
// store and of several nodes sharing one run against the real engine.
package testpg
