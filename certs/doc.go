// Package certs provides the TLS certificate that FTPS and HTTPS share: the
// administrator's own (tls.cert_file/key_file), or a self-signed one that
// ferry generates into the data directory on first start and reuses after,
// so clients that pinned its fingerprint keep trusting it.
package certs
