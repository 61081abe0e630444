# ferry firewall: client side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
# Only allow rules: the default policy is left as it is (--default-drop sets deny incoming).
ufw allow out proto tcp from any to 198.51.100.4 port 2121 comment 'FTP control (explicit FTPS)'
ufw allow out proto tcp from any to 198.51.100.4 port 40000:40009 comment 'FTP passive data; implicit FTPS passive data'
ufw allow out proto tcp from any to 198.51.100.4 port 9990 comment 'implicit FTPS control'
ufw allow out proto tcp from any to 198.51.100.4 port 2222 comment 'SFTP (SSH)'
ufw allow out proto tcp from any to 198.51.100.4 port 8080 comment 'HTTP (redirects to HTTPS)'
ufw allow out proto tcp from any to 198.51.100.4 port 8443 comment 'HTTPS web client, API and /healthz'
