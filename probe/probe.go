package probe

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
)

// Status is the outcome of one check.
type Status string

// Outcomes. Only Fail makes the report fail.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "FAIL"
	Skip Status = "skip"
)

// Result is one check of one service.
type Result struct {
	Service string `json:"service"`
	Port    int    `json:"port"`
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Detail  string `json:"detail"`
}

// Report is every check against one host.
type Report struct {
	Host    string   `json:"host"`
	OK      bool     `json:"ok"`
	Results []Result `json:"results"`

	ftpControl bool     // an FTP control connection got its greeting
	dataPorts  []string // passive ports that took a data connection after PASV/EPSV
}

// Options say what to probe and how.
type Options struct {
	Host string
	// Plan is the server's listener plan: the probe checks what it opens.
	Plan *listen.Plan
	// User and Password log in when User is set.
	User, Password string
	// Timeout bounds each connection attempt and reply; 0 means 5 seconds.
	Timeout time.Duration
	// Sample is how many ports of the passive range to try; 0 means 8.
	Sample int
}

// Run probes every control service of the configuration's plan.
func Run(ctx context.Context, o Options) *Report {
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Sample == 0 {
		o.Sample = 8
	}
	rep := &Report{Host: o.Host, OK: true}
	plan := o.Plan
	for _, e := range plan.Entries {
		if e.Kind != listen.Control {
			continue
		}
		p := &prober{o: o, e: e, port: e.Ports.Low, rep: rep}
		switch e.Service {
		case listen.FTP, listen.FTPImplicit:
			p.ftp(ctx, plan)
		case listen.SFTP:
			p.ssh(ctx)
		case listen.HTTP, listen.HTTPS:
			p.http(ctx)
		}
	}
	middlebox(rep, plan)
	if pr, ok := plan.Find(listen.FTP, listen.Passive); ok {
		sampleRange(ctx, o, pr.Ports, rep)
	}
	for _, r := range rep.Results {
		if r.Status == Fail {
			rep.OK = false
		}
	}
	return rep
}

// Failed counts the failed checks.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if x.Status == Fail {
			n++
		}
	}
	return n
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SERVICE\tPORT\tCHECK\tRESULT\tDETAIL\n")
	for _, x := range r.Results {
		port := "-"
		if x.Port != 0 {
			port = strconv.Itoa(x.Port)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.Service, port, x.Check, x.Status, x.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "all checks passed"
	warns := 0
	for _, x := range r.Results {
		if x.Status == Warn {
			warns++
		}
	}
	if warns > 0 {
		verdict += fmt.Sprintf(" (%d warning(s))", warns)
	}
	if n := r.Failed(); n > 0 {
		verdict = fmt.Sprintf("%d check(s) FAILED", n)
	}
	_, err := fmt.Fprintf(w, "\n%s: %s\n", r.Host, verdict)
	return err
}

// WriteJSON prints the report for scripts and monitoring.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

type prober struct {
	o    Options
	e    listen.Entry
	port int
	rep  *Report
}

func (p *prober) add(check string, s Status, format string, a ...any) {
	p.rep.Results = append(p.rep.Results, Result{
		Service: string(p.e.Service), Port: p.port, Check: check, Status: s, Detail: fmt.Sprintf(format, a...),
	})
}

func (p *prober) addr() string { return net.JoinHostPort(p.o.Host, strconv.Itoa(p.port)) }

func (p *prober) dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: p.o.Timeout}
	return d.DialContext(ctx, "tcp", addr)
}

// explain turns a dial error into the firewall fact it reveals.
func explain(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused: the port is reachable but nothing listens there (or a firewall rejects it)"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer: dropped by a firewall, or not forwarded by the NAT router"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable: no route to the address"
	}
	return err.Error()
}

func (p *prober) tlsConfig() *tls.Config {
	cfg := &tls.Config{
		// The probe reports the fingerprint for the administrator to compare
		// rather than trusting a CA: servers often use self-signed
		// certificates, and the point is to see which one is served.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		// FTPS data connections must resume the control connection's
		// session; the cache is keyed by ServerName, so it is set even for
		// an IP address (which is then not sent as SNI).
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
		ServerName:         p.o.Host,
	}
	return cfg
}

// describeTLS reports the protocol and the certificate the server presented.
func describeTLS(st tls.ConnectionState) (Status, string) {
	if len(st.PeerCertificates) == 0 {
		return Fail, "the server presented no certificate"
	}
	c := st.PeerCertificates[0]
	detail := fmt.Sprintf("%s, certificate SHA256 %s, subject %q, valid until %s",
		tls.VersionName(st.Version), certs.Fingerprint(c.Raw), c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
	if time.Now().After(c.NotAfter) {
		return Fail, "certificate EXPIRED: " + detail
	}
	if c.Issuer.String() == c.Subject.String() {
		detail += ", self-signed"
	}
	return OK, detail
}

// sampleRange tries ports spread over the passive range and reports them
// apart: a port that accepted a data connection after PASV/EPSV (from the
// FTP checks), one that answered with a reset (reachable, nothing listens
// until a client sends PASV, or a firewall rejects), one that timed out
// (filtered). Nothing is ok unless an FTP control connection worked: a
// reset also comes from an address where no server runs at all.
func sampleRange(ctx context.Context, o Options, r config.PortRange, rep *Report) {
	n := min(o.Sample, r.Size())
	ports := make([]int, n)
	for i := range ports {
		if n == 1 {
			ports[i] = r.Low
			continue
		}
		ports[i] = r.Low + i*(r.Size()-1)/(n-1)
	}
	results := make([]error, n)
	var wg sync.WaitGroup
	for i, port := range ports {
		wg.Go(func() {
			d := net.Dialer{Timeout: o.Timeout}
			c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(o.Host, strconv.Itoa(port)))
			if err == nil {
				c.Close()
			}
			results[i] = err
		})
	}
	wg.Wait()
	var open, refused, dropped []string
	for i, err := range results {
		s := strconv.Itoa(ports[i])
		switch {
		case err == nil:
			open = append(open, s)
		case errors.Is(err, syscall.ECONNREFUSED):
			refused = append(refused, s)
		default:
			dropped = append(dropped, s+" ("+explain(err)+")")
		}
	}
	res := Result{Service: "ftp", Check: "passive range " + r.String()}
	detail := fmt.Sprintf("%d of %d sampled ports answer", len(open)+len(refused), n)
	if len(rep.dataPorts) > 0 {
		detail += "; accepted a data connection after PASV/EPSV: " + strings.Join(rep.dataPorts, ", ")
	}
	if len(refused) > 0 {
		detail += "; reset (reachable, nothing listening): " + strings.Join(refused, ", ")
	}
	if len(open) > 0 {
		detail += "; accepted without PASV (another session waits there, or another program listens): " + strings.Join(open, ", ")
	}
	switch {
	case !rep.ftpControl:
		res.Status = Fail
		detail = "NOT CHECKED: no FTP control connection worked, so an answer from the range says nothing about ferry (" + detail + ")"
	case len(dropped) > 0:
		res.Status = Fail
		detail += "; TIMED OUT (filtered): " + strings.Join(dropped, ", ") + ": open and forward the whole passive range"
	case len(rep.dataPorts) > 0:
		res.Status = OK
	default:
		res.Status = Warn
		detail += "; no data connection was tried: log in with --user to prove one"
	}
	res.Detail = detail
	rep.Results = append(rep.Results, res)
}

func (p *prober) addTLS(check string, st tls.ConnectionState) {
	s, detail := describeTLS(st)
	p.add(check, s, "%s", detail)
}
