// Package notify tells the outside world about events: rules of the
// configuration ([[notify]]) pick events of the core's vocabulary (an
// upload completed, a failed login, a ban, a share link used) by kind,
// user and path, and post each to a webhook or run a command with it.
//
// It is a core.Sink. A webhook notification goes into a queue kept in
// the store before anything is sent, so a restart or a receiver that is
// down loses nothing: it is posted as JSON over verified TLS, signed
// (Ferry-Signature, see Sign), retried with capped exponential backoff,
// and deleted once the receiver answered 2xx. The queue is bounded
// (QueueMax rows; past it the oldest are dropped with a warning) and
// shared by every node of a PostgreSQL store, which lease the rows they
// post so that no two post the same one at once. Each event carries an
// id (Ferry-Event-Id) by which a receiver drops a repeat: delivery is at
// least once, exactly once for a receiver that dedupes.
//
// A command runs without a shell, its arguments as configured and the
// event in its environment (FERRY_EVENT, FERRY_USER, FERRY_PATH, …,
// FERRY_EVENT_JSON), so no file name is ever parsed as shell syntax; a
// few run at once, each within its timeout, their output logged
// truncated. Commands are not queued in the store: one not started when
// the server stops is lost, and logged so.
package notify
