# ferry firewall: client side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
# Run in an elevated PowerShell; remove with: Remove-NetFirewallRule -Group 'ferry'
New-NetFirewallRule -DisplayName 'ferry: FTP control (explicit FTPS)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 2121
New-NetFirewallRule -DisplayName 'ferry: FTP passive data; implicit FTPS passive data' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 40000-40009
New-NetFirewallRule -DisplayName 'ferry: implicit FTPS control' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 9990
New-NetFirewallRule -DisplayName 'ferry: SFTP (SSH)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 2222
New-NetFirewallRule -DisplayName 'ferry: HTTP (redirects to HTTPS)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 8080
New-NetFirewallRule -DisplayName 'ferry: HTTPS web client, API and /healthz' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 8443
