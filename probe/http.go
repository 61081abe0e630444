package probe

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/ferry-project/ferry/listen"
)

// http checks the web listener: the TLS handshake and certificate for
// HTTPS, a response to GET /, and with credentials a bearer token from the
// REST API.
func (p *prober) http(ctx context.Context) {
	scheme := "http"
	if p.e.Service == listen.HTTPS {
		scheme = "https"
	}
	// connected tells a port that does not answer from a server that
	// accepts the connection but does not respond.
	var connected atomic.Bool
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := p.dial(ctx, addr)
			if err == nil {
				connected.Store(true)
			}
			return c, err
		},
		TLSClientConfig:   p.tlsConfig(),
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		Timeout:   p.o.Timeout,
		// A redirect to HTTPS is the expected answer on HTTP; report it
		// rather than follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := scheme + "://" + net.JoinHostPort(p.o.Host, strconv.Itoa(p.port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		p.add("connect", Fail, "%v", err)
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		if connected.Load() {
			p.add("GET /", Fail, "connected to %s, but: %v", p.addr(), err)
		} else {
			p.add("connect", Fail, "%s: %s", p.addr(), explain(err))
		}
		return
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
	resp.Body.Close()
	if resp.TLS != nil {
		p.addTLS("TLS", *resp.TLS)
	}
	detail := "GET / answered " + resp.Status
	if loc := resp.Header.Get("Location"); loc != "" {
		detail += ", redirect to " + loc
	}
	p.add("GET /", OK, "%s", detail)
	if scheme != "https" {
		return
	}
	if p.o.User == "" {
		p.add("login", Skip, "give --user and FERRY_PASSWORD to ask the API for a token")
		return
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/token", nil)
	if err != nil {
		p.add("login", Fail, "%v", err)
		return
	}
	req.SetBasicAuth(p.o.User, p.o.Password)
	resp, err = client.Do(req)
	if err != nil {
		p.add("login", Fail, "POST /api/v1/token: %s", explain(err))
		return
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the status matters
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		p.add("login", Fail, "POST /api/v1/token as %s: %s", p.o.User, resp.Status)
		return
	}
	p.add("login", OK, "API token issued to %s", p.o.User)
}
