// Package web serves ferry over HTTPS: a browser client whose pages,
// script and style are embedded in the binary, and a JSON REST API under
// /api/v1 for scripts. Both work on the same users (package auth) and the
// same home-rooted file systems (package vfs) as FTP and SFTP. Browsers
// log in with a form and hold a session cookie protected against CSRF;
// scripts use HTTP Basic over TLS or a bearer token from /api/v1/token.
// WebDAV (RFC 4918) is served under /dav/ for Basic and bearer
// credentials (dav.go, davfs.go). Uploads stream to an atomic vfs upload, downloads honour Range. The
// plain-HTTP listener answers with a permanent redirect to HTTPS, or serves
// the site itself when HTTPS is turned off.
package web
