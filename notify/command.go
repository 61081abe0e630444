package notify

import (
	"context"
	"errors"
	"os/exec"
	"time"
)

// outputLimit is how much of a command's output the log keeps.
const outputLimit = 4 << 10

// job is one command to run.
type job struct {
	r    *rule
	e    Event
	body []byte
}

// capped keeps the first outputLimit bytes written and counts the rest.
type capped struct {
	b    []byte
	more int64
}

func (c *capped) Write(p []byte) (int, error) {
	n := min(len(p), outputLimit-len(c.b))
	c.b = append(c.b, p[:n]...)
	c.more += int64(len(p) - n)
	return len(p), nil
}

func (c *capped) String() string {
	if c.more > 0 {
		return string(c.b) + "…[truncated]"
	}
	return string(c.b)
}

// run runs the rule's command for e, without a shell: argv as
// configured, the event in the environment, no standard input, output
// captured (truncated), killed at the rule's timeout. It returns the
// output and nil for exit status 0.
func (j job) run(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, j.r.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, j.r.Command[0], j.r.Command[1:]...)
	cmd.Env = j.e.environ(j.body)
	out := &capped{}
	cmd.Stdout, cmd.Stderr = out, out
	// A child that keeps the output open after the command is killed
	// does not hold the worker past this.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = errors.New("timed out after " + j.r.timeout.String() + ": killed")
	}
	return out.String(), err
}
