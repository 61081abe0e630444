// Package testutil holds small helpers that the tests of several ferry
// packages share.
package testutil
