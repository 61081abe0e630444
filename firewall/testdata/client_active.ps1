# ferry firewall: client side, stateful: established and related return traffic is allowed.
# warning: FTP helpers (the conntrack ftp helper, a router's "FTP ALG") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.
# warning: active mode: this client must accept inbound connections from the server; behind NAT it must also announce its public address (ferry --active-address) and the router must forward the client's listening ports. Prefer passive mode.
# Run in an elevated PowerShell; remove with: Remove-NetFirewallRule -Group 'ferry'
New-NetFirewallRule -DisplayName 'ferry: FTP control (explicit FTPS)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 2121
New-NetFirewallRule -DisplayName 'ferry: explicit FTPS active data (the server connects in)' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 50000-50099 -RemoteAddress 198.51.100.4 -RemotePort 2120
New-NetFirewallRule -DisplayName 'ferry: implicit FTPS control' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 9990
New-NetFirewallRule -DisplayName 'ferry: implicit FTPS active data (the server connects in)' -Group 'ferry' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 50000-50099 -RemoteAddress 198.51.100.4 -RemotePort 9989
New-NetFirewallRule -DisplayName 'ferry: SFTP (SSH)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 2222
New-NetFirewallRule -DisplayName 'ferry: HTTP (redirects to HTTPS)' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 8080
New-NetFirewallRule -DisplayName 'ferry: HTTPS web client, API and /healthz' -Group 'ferry' -Direction Outbound -Action Allow -Protocol TCP -RemoteAddress 198.51.100.4 -RemotePort 8443
