// Package listen computes the listener plan: every socket ferry listens on
// and every source port it connects out from, each with its service and
// purpose, derived from the configuration. The plan is also the only source
// of those sockets: the control listeners (Plan.Listen), the passive data
// ports (Plan.Passive, a pool with a cap per user, whose ports several client
// addresses may wait on at once under ftp.passive_sharing), the active data
// connections (Plan.DialActive) and the address passive replies carry
// (Plan.Advertise). The servers open exactly what the plan says and the
// firewall planner prints exactly the same plan, so the rules cannot drift
// from what `ferry serve` really does.
package listen
