#!/bin/sh
# ferry firewall: client side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
set -e
firewall-cmd --reload
# firewalld lets outbound traffic pass unless you add policies; ferry's outbound flows are:
#   out tcp to 198.51.100.4 dport 2121  (FTP control (explicit FTPS))
#   out tcp to 198.51.100.4 dport 40000-40009  (FTP passive data; implicit FTPS passive data)
#   out tcp to 198.51.100.4 dport 9990  (implicit FTPS control)
#   out tcp to 198.51.100.4 dport 2222  (SFTP (SSH))
#   out tcp to 198.51.100.4 dport 8080  (HTTP (redirects to HTTPS))
#   out tcp to 198.51.100.4 dport 8443  (HTTPS web client, API and /healthz)
