// Package cluster reads cluster.toml, the description of several ferry
// nodes behind one load balancer, and prints what each piece of that
// deployment needs: the HAProxy configuration of the balancer, the nft port
// forwards of a plain router used instead, and the ferry.toml fragment of
// every node. It exists apart from package firewall because it describes
// several servers, where firewall derives one server's rules from its own
// listener plan.
//
// FTP's passive mode is what makes a cluster hard: the data connection a
// PASV reply announces must reach the node that issued it. Each node owns a
// passive range of its own, disjoint from every other node's; every node
// advertises the balancer's address (public_host), and the balancer
// forwards each node's range to that node only. See docs/cluster.md.
package cluster
