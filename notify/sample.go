package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/listen"
)

// ErrNoRule is Test's answer for a rule name the configuration lacks.
var ErrNoRule = errors.New("no such [[notify]] rule")

// Test sends a sample event through the rule name of cfg at once (`ferry
// events test NAME`): one post to its webhook, or one run of its
// command, bypassing the queue, and writes the outcome to w. The sample
// is the rule's first event kind, by user "sample-user", of
// /sample/ferry-test.txt, with "test": true.
func Test(ctx context.Context, cfg *config.Config, name string, w io.Writer) error {
	var c *config.Notify
	for i := range cfg.Notify {
		if cfg.Notify[i].Name == name {
			c = &cfg.Notify[i]
		}
	}
	if c == nil {
		return fmt.Errorf("%w %q", ErrNoRule, name)
	}
	r, err := compile(*c)
	if err != nil {
		return err
	}
	rec := &core.Record{Time: time.Now().UTC(), Kind: c.On[0], Session: 1, Service: listen.HTTPS,
		Remote: netip.MustParseAddrPort("192.0.2.1:50000"), User: "sample-user", Path: "/sample/ferry-test.txt",
		Bytes: 1234, Duration: 1500 * time.Millisecond, Result: core.ResultOK, Method: "password"}
	e := eventOf(newID(), c.Name, rec)
	e.Test = true
	body := e.marshal()
	if r.Webhook != "" {
		if err := r.post(ctx, e.ID, e.Event, body, 1); err != nil {
			return fmt.Errorf("rule %s: POST %s: %w", c.Name, redact(r.Webhook), err)
		}
		fmt.Fprintf(w, "rule %s: POST %s: delivered (%s %s)\n", c.Name, redact(r.Webhook), HeaderEventID, e.ID)
		return nil
	}
	out, err := job{r, e, body}.run(ctx)
	if out != "" {
		fmt.Fprintf(w, "%s", out)
	}
	if err != nil {
		return fmt.Errorf("rule %s: %s: %w", c.Name, c.Command[0], err)
	}
	fmt.Fprintf(w, "rule %s: %s ran (exit status 0)\n", c.Name, c.Command[0])
	return nil
}
