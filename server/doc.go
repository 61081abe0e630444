// Package server runs `ferry serve`: it opens the user store and the TLS
// certificate, binds exactly the listeners of the listener plan, starts
// each enabled protocol on them, and on shutdown lets running transfers
// finish until the configured deadline.
package server
