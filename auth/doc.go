// Package auth authenticates users for every protocol: it verifies
// passwords (argon2id, and bcrypt hashes imported from elsewhere) and SSH
// public keys against the user store, and keeps the per-IP lockout that FTP,
// SFTP and HTTP share, so a client that guesses passwords on one protocol is
// refused on all of them.
package auth
