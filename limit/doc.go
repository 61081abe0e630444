// Package limit bounds concurrent sessions, in all and per client IP, across
// every protocol, so one client cannot take every slot of the server.
package limit
