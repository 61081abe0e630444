// Package firewall turns ferry's listener plan into the firewall rules each
// enabled protocol and mode needs, for the server or for a client, and
// renders them in the formats administrators use: a readable table, JSON,
// nftables, iptables-restore input, ufw and firewalld commands, and Windows
// PowerShell. Every port comes from package listen, the plan `ferry serve`
// opens, so the rules cannot drift from what the server really does. The
// planner also computes the port forwards (DNAT) a NAT router in front of the
// server needs and the warnings that apply to the configuration.
package firewall
