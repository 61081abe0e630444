package ftpc

import (
	"slices"
	"strings"
)

// hashVerbs are the older hash commands, tried in this order when FEAT
// does not list HASH, with the name HASH gives their algorithm.
var hashVerbs = []struct{ verb, algo string }{{"XSHA256", "SHA-256"}, {"XSHA1", "SHA-1"}, {"XMD5", "MD5"}}

// Hash asks the server for the hash of the whole file p: HASH
// (draft-bryan-ftpext-hash-02) with SHA-256 chosen by OPTS HASH when FEAT
// offers it, else the first of XSHA256, XSHA1 and XMD5 the server knows.
// It returns the algorithm as HASH names it (SHA-256, SHA-1, MD5) and the
// hex digest; ErrUnsupported when the server offers no hash. A file the
// server cannot hash is an *Error with the server's reply.
func (c *Conn) Hash(p string) (algo, sum string, err error) {
	if c.hashAlgo == "" && !c.noHash {
		if err := c.chooseHash(); err != nil {
			return "", "", err
		}
	}
	if c.noHash {
		return "", "", ErrUnsupported
	}
	if c.hashVerb != "" {
		rep, err := c.expect(c.hashVerb+" "+p, 250)
		if err != nil {
			return "", "", err
		}
		f := strings.Fields(rep.Text())
		if len(f) == 0 {
			return "", "", &Error{Cmd: c.hashVerb, Reply: rep}
		}
		return c.hashAlgo, f[len(f)-1], nil
	}
	rep, err := c.expect("HASH "+p, 213)
	if err != nil {
		return "", "", err
	}
	// "ALGO START-END HEX NAME"
	f := strings.SplitN(rep.Text(), " ", 4)
	if len(f) < 3 {
		return "", "", &Error{Cmd: "HASH", Reply: rep}
	}
	return strings.ToUpper(f[0]), f[2], nil
}

// HashAlgo is the algorithm Hash uses ("" before the first Hash, or when
// the server offers none).
func (c *Conn) HashAlgo() string { return c.hashAlgo }

// chooseHash picks how to ask: HASH with the strongest algorithm FEAT
// lists, else an older command the server answers.
func (c *Conn) chooseHash() error {
	if list, ok := c.Feature("HASH"); ok {
		var names []string
		current := ""
		for n := range strings.SplitSeq(list, ";") {
			n = strings.ToUpper(strings.TrimSpace(n))
			if strings.HasSuffix(n, "*") {
				n = strings.TrimSuffix(n, "*")
				current = n
			}
			names = append(names, n)
		}
		for _, want := range []string{"SHA-256", "SHA-1", "MD5"} {
			if !slices.Contains(names, want) {
				continue
			}
			if want == current {
				c.hashAlgo = want
				return nil
			}
			rep, err := c.cmd("OPTS HASH " + want)
			if err != nil {
				return err
			}
			if rep.Code == 200 {
				c.hashAlgo = want
				return nil
			}
		}
		if current != "" {
			c.hashAlgo = current
			return nil
		}
	}
	for _, h := range hashVerbs {
		// A file that cannot exist: a server that knows the command
		// answers 550 (or 250 for a folder); one that does not, 500/502.
		rep, err := c.cmd(h.verb + " /")
		if err != nil {
			return err
		}
		if rep.Code != 500 && rep.Code != 502 && rep.Code != 504 {
			c.hashVerb, c.hashAlgo = h.verb, h.algo
			return nil
		}
	}
	c.noHash = true
	return nil
}
