// Package sock holds the few socket options ferry needs that the standard
// library does not expose, each in a file per platform with a portable
// fallback, so that the protocol packages build and run everywhere: the
// server on Linux gets every refinement, the client and the planner work on
// Windows and macOS too.
package sock
