package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/config"
)

// Headers of a webhook post.
const (
	// HeaderSignature is "t=UNIX,v1=HEX": HEX is the lowercase hex
	// HMAC-SHA256, keyed with the rule's secret, of the decimal UNIX time,
	// a dot, and the body as sent. A receiver recomputes it, compares in
	// constant time, and refuses a t more than a few minutes from its
	// clock (a replay); t is the time of this attempt, so a retry is
	// signed afresh.
	HeaderSignature = "Ferry-Signature"
	// HeaderEventID is the event's id, the same in every attempt: a
	// receiver that saw it already answers 2xx and does nothing.
	HeaderEventID = "Ferry-Event-Id"
	// HeaderEvent is the event's kind ("upload").
	HeaderEvent = "Ferry-Event"
	// HeaderAttempt counts the attempts at this delivery, from 1.
	HeaderAttempt = "Ferry-Delivery-Attempt"
)

// responseLimit is what of a receiver's answer is read (and discarded)
// before the connection is closed.
const responseLimit = 64 << 10

// DefaultTimeout is a rule's timeout when it sets none.
const DefaultTimeout = 10 * time.Second

// Sign is the Ferry-Signature of body posted at t with secret.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is Verify's answer to a signature that does not match,
// is malformed, or is older than its tolerance.
var ErrBadSignature = errors.New("bad webhook signature")

// Verify checks a Ferry-Signature header as a receiver does: the HMAC of
// its time and body, and the time within tolerance of now.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrBadSignature
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, too far from now", ErrBadSignature, t.UTC().Format(time.RFC3339))
	}
	want := Sign(secret, body, t)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return ErrBadSignature
	}
	return nil
}

// rule is a [[notify]] rule ready to fire.
type rule struct {
	config.Notify
	secret  []byte
	client  *http.Client // webhooks
	timeout time.Duration
}

// compile reads a rule's secret and CA files and builds its client.
func compile(n config.Notify) (*rule, error) {
	r := &rule{Notify: n, timeout: n.Timeout.Duration}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if n.Webhook == "" {
		return r, nil
	}
	key := func(k string) string { return "notify." + n.Name + "." + k }
	r.secret = []byte(n.Secret)
	if n.SecretFile != "" {
		b, err := os.ReadFile(n.SecretFile)
		if err != nil {
			return nil, &config.KeyError{Key: key("secret_file"), Reason: err.Error()}
		}
		if r.secret = bytes.TrimSpace(b); len(r.secret) == 0 {
			return nil, &config.KeyError{Key: key("secret_file"), Reason: n.SecretFile + " is empty"}
		}
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if n.CAFile != "" {
		pem, err := os.ReadFile(n.CAFile)
		if err != nil {
			return nil, &config.KeyError{Key: key("ca_file"), Reason: err.Error()}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.KeyError{Key: key("ca_file"), Reason: n.CAFile + " holds no PEM certificate"}
		}
	}
	r.client = &http.Client{
		Timeout: r.timeout,
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			TLSClientConfig:        &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:    r.timeout,
			ResponseHeaderTimeout:  r.timeout,
			MaxConnsPerHost:        posters,
			MaxIdleConnsPerHost:    posters,
			IdleConnTimeout:        time.Minute,
			MaxResponseHeaderBytes: 16 << 10,
		},
		// A redirect is not followed: the receiver is the configured URL
		// and nothing it answers sends the event elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return r, nil
}

// post sends body once; nil means the receiver answered 2xx.
func (r *rule) post(ctx context.Context, eventID, kind string, body []byte, attempt int) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ferry-notify")
	req.Header.Set(HeaderEventID, eventID)
	req.Header.Set(HeaderEvent, kind)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(HeaderSignature, Sign(r.secret, body, time.Now()))
	resp, err := r.client.Do(req)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err // without the URL, which may hold a token
	} else if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, responseLimit))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// redact is a webhook URL fit for a log: without user information, query
// and fragment, which may hold a token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
