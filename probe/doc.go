// Package probe runs the SUN-ES PS 4.1 round trip: it submits a test message
// through an establishment's MSSanté SMTP endpoint to a citizen address
// (Mon espace santé), waits on the establishment's IMAP mailbox for the
// correlated reply, and records every step as data (Result).
//
// It owns the probe configuration (YAML, secrets only from the environment
// or files), the rule catalog Rules (stable check IDs), message and
// IHE_XDM.ZIP building, redacted protocol transcripts, and the text, JSON
// and JUnit renderings of a Result. It depends on packages cda (document
// checks, INS) and check (shared vocabulary) only; the evidence bundle and
// the CLI are built on top of it.
//
// Library traps handled here (research tools.md §B): go-smtp and imapclient
// take no context, so every connection is dialled with DialContext and
// closed from context.AfterFunc; STARTTLS and the TLS handshake are done by
// this package, before the client library sees the connection, so that TLS
// errors belong to the TLS check and never surface later at EHLO; and the
// libraries' DebugWriters are not used because they log credentials: a
// recording connection writes redacted transcripts instead.
package probe
