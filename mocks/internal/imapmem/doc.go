// Package imapmem is the in-memory IMAP mailbox store of the mock
// operator: a copy of go-imap v2.0.0-beta.8's imapserver/imapmemserver
// (MIT, see LICENSE) changed where real sync clients tripped on it.
//
// Changes from upstream, each for a client-visible fault:
//   - flags keep their spelling: system flags in canonical case (\Seen,
//     not \seen), keywords as stored (upstream lower-cased every flag:
//     mbsync warned "unknown system flag", offlineimap dropped local flags);
//   - SELECT/EXAMINE list the system flags in FLAGS and PERMANENTFLAGS;
//   - MOVE sends one EXPUNGE per moved message, from the mailbox tracker
//     (upstream also wrote them itself, so each came twice, first as
//     "* 0 EXPUNGE"; RFC 6851 §3.3);
//   - LIST gives \HasChildren/\HasNoChildren, lists missing parents as
//     \Noselect, and always shows special-use attributes (\Sent); \Subscribed
//     only when asked (RFC 9051 §6.3.9, RFC 6154 §2);
//   - CREATE keeps the special-use attribute it is given (RFC 6154 §5.2);
//   - read accessors (Mailboxes, Messages, Message) for the mock's HTTP API.
package imapmem
