// Package testserver is the one test harness of the protocol packages
// (ftp, sftp, web). Their servers stand on the same floor (a configuration,
// a user store, package auth, the session core, a certificate), and their
// tests used to build that floor three ways: three user stores (one of them
// hand-written), three sets of users and passwords, three ways of finding
// free ports. A difference between them was a difference between what each
// protocol was tested against, not between the protocols.
//
// New builds the floor once and the same way for every package:
//
//   - a validated configuration on free loopback ports, with the listeners
//     already open (Listener hands them out, so no other process can take a
//     port between choosing it and binding it), a free passive range and
//     short timeouts, after the caller's changes;
//   - the data directory, and the SQLite user store in it (store.Open, as
//     ferry serve opens it) with three users: alice (read-write) and carol
//     (read-only) log in with Password, bob with the key in KeyFile only.
//     AddUser adds more. Password's argon2id hash is computed once per test
//     binary: each computation takes about a tenth of a second under the
//     race detector;
//   - package auth with the lockout, and the session core, both logging at
//     debug level into Logs, which is printed when the test fails;
//   - a self-signed certificate, generated once per test binary and copied
//     into the data directory, where ferry serve keeps its own.
//
// A package's own helper keeps only what is its protocol's: it builds its
// Server on this floor, starts it with Serve (which shuts it down within a
// deadline when the test ends) and drives it with its clients.
package testserver
