// Package config holds ferry's configuration model: the TOML file of the
// design document, its embedded defaults and its validation. It is the one
// source of every port and address that the servers open and that the
// firewall planner prints; nothing else in ferry writes a port as a literal.
package config
