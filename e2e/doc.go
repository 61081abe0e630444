// Package e2e holds ferry's end-to-end tests: they build the ferry binary,
// start `ferry serve` on loopback with a test configuration and drive it
// with real clients (curl, lftp, Python's ftplib, OpenSSH, Chromium).
package e2e
