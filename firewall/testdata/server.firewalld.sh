#!/bin/sh
# ferry firewall: server side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
# warning: the passive range 40000-40009 has 10 ports, but one client address may hold 20 sessions (limits.max_connections_per_ip): sessions from different addresses share the passive ports (ftp.passive_sharing), but those of one address need a port each while they wait for a data connection, so more than 10 of one address waiting at once get 425. Widen ftp.passive_ports or lower limits.max_connections_per_ip.
# warning: ftp.active = true: clients that use active mode must accept inbound data connections from this server, so their firewalls need inbound rules (see --side client --mode active). Passive mode needs none; set ftp.active = false if no client needs active mode.
# The NAT router in front of this server (public_host 203.0.113.7) must forward TCP ports 2121, 40000-40009, 9990, 2222, 8080, 8443
# to the server's private address; its nft ruleset: ferry firewall --side router --forward-to ADDR --format nft
set -e
cat > /etc/firewalld/services/ferry.xml <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<service>
  <short>ferry</short>
  <description>ferry file transfer server: FTP control (explicit FTPS); FTP passive data; implicit FTPS passive data; implicit FTPS control; SFTP (SSH); HTTP (redirects to HTTPS); HTTPS web client, API and /healthz</description>
  <port protocol="tcp" port="2121"/>
  <port protocol="tcp" port="40000-40009"/>
  <port protocol="tcp" port="9990"/>
  <port protocol="tcp" port="2222"/>
  <port protocol="tcp" port="8080"/>
  <port protocol="tcp" port="8443"/>
</service>
EOF
firewall-cmd --reload
firewall-cmd --permanent --add-service=ferry
firewall-cmd --reload
# firewalld lets outbound traffic pass unless you add policies; ferry's outbound flows are:
#   out tcp sport 2120 to any  (FTP active data (server connects out))
#   out tcp sport 9989 to any  (implicit FTPS active data (server connects out))
