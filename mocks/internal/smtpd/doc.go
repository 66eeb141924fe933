// Package smtpd is the SMTP server of the mock operator: a copy of
// go-smtp v0.25.1's server side (conn.go, server.go, parse.go, the DATA
// reader; MIT, see LICENSE), with go-smtp's own types (aliases.go), so that
// the mock can answer as RFC 5321 and RFC 4954 say where go-smtp does not.
//
// Changes from upstream:
//   - commands out of sequence get 503 5.5.1 (RFC 5321 §4.2.4, §4.3.2):
//     MAIL/RCPT/DATA/BDAT/AUTH before EHLO, RCPT before MAIL, DATA or BDAT
//     before RCPT, MAIL within a transaction (nested MAIL; upstream 250),
//     MAIL/RCPT/DATA during a BDAT transfer, STARTTLS twice
//     (upstream 502), AUTH during a mail transaction (RFC 4954 §4;
//     upstream ran it);
//   - syntax errors get 501 5.5.2/5.5.4: AUTH without a mechanism, SASL
//     data that is not base64 (RFC 4954 §4; upstream 502 and 454),
//     STARTTLS with an argument (RFC 3207 §4; upstream started TLS), a
//     malformed AUTH= parameter (upstream 500);
//   - an unknown MAIL or RCPT parameter gets 555 5.5.4 (RFC 5321
//     §4.1.1.11; upstream 500);
//   - a 421 reply, whatever command gets it, closes the connection
//     (RFC 5321 §3.8; upstream only did so for its own timeouts);
//   - an oversize BDAT chunk is read and discarded before the 552 is sent,
//     as the DATA block is, so the reply comes once the client has sent
//     all it meant to send;
//   - chunk data is exempt from the command line limit even when it was
//     read ahead with its BDAT command (upstream dropped the whole read
//     when it held a line over the limit, and took the rest of the chunk
//     for commands).
package smtpd
