#!/bin/sh
# ferry firewall: client side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
# warning: active mode: this client must accept inbound connections from the server; behind NAT it must also announce its public address (ferry --active-address) and the router must forward the client's listening ports. Prefer passive mode.
set -e
# explicit FTPS active data (the server connects in) (rich rules cannot also match the source port 2120)
firewall-cmd --permanent --add-rich-rule='rule family="ipv4" source address="198.51.100.4" port port="50000-50099" protocol="tcp" accept'
# implicit FTPS active data (the server connects in) (rich rules cannot also match the source port 9989)
firewall-cmd --reload
# firewalld lets outbound traffic pass unless you add policies; ferry's outbound flows are:
#   out tcp to 198.51.100.4 dport 2121  (FTP control (explicit FTPS))
#   out tcp to 198.51.100.4 dport 9990  (implicit FTPS control)
#   out tcp to 198.51.100.4 dport 2222  (SFTP (SSH))
#   out tcp to 198.51.100.4 dport 8080  (HTTP (redirects to HTTPS))
#   out tcp to 198.51.100.4 dport 8443  (HTTPS web client, API and /healthz)
