# ferry firewall: server side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
# warning: the passive range 40000-40009 has 10 ports, but one client address may hold 20 sessions (limits.max_connections_per_ip): sessions from different addresses share the passive ports (ftp.passive_sharing), but those of one address need a port each while they wait for a data connection, so more than 10 of one address waiting at once get 425. Widen ftp.passive_ports or lower limits.max_connections_per_ip.
# warning: ftp.active = true: clients that use active mode must accept inbound data connections from this server, so their firewalls need inbound rules (see --side client --mode active). Passive mode needs none; set ftp.active = false if no client needs active mode.
# The NAT router in front of this server (public_host 203.0.113.7) must forward TCP ports 2121, 40000-40009, 9990, 2222, 8080, 8443
# to the server's private address; its nft ruleset: ferry firewall --side router --forward-to ADDR --format nft
# Run in an elevated PowerShell; remove with: Remove-NetFirewallRule -Group 'ferry'
New-NetFirewallRule -DisplayName 'ferry: FTP control (explicit FTPS)' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 2121
New-NetFirewallRule -DisplayName 'ferry: FTP passive data; implicit FTPS passive data' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 40000-40009
New-NetFirewallRule -DisplayName 'ferry: FTP active data (server connects out)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -LocalPort 2120
New-NetFirewallRule -DisplayName 'ferry: implicit FTPS control' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 9990
New-NetFirewallRule -DisplayName 'ferry: implicit FTPS active data (server connects out)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -LocalPort 9989
New-NetFirewallRule -DisplayName 'ferry: SFTP (SSH)' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 2222
New-NetFirewallRule -DisplayName 'ferry: HTTP (redirects to HTTPS)' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 8080
New-NetFirewallRule -DisplayName 'ferry: HTTPS web client, API and /healthz' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 8443
