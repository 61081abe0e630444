//go:build !linux

package sock

import "net"

// PeerClosed cannot tell without reading where poll(2) has no POLLRDHUP;
// it reports false, so the end of the data connection alone decides.
func PeerClosed(net.Conn) bool { return false }
