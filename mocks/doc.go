// Package mocks runs an embeddable stand-in for an MSSanté operator and for
// the citizen side of Mon espace santé (MSS citoyenne): SMTP submission and
// IMAP for establishment mailboxes, citizen mailboxes that answer, the
// MSSanté rules on messages to citizens, and named fault injection.
//
// It owns: the SMTP servers (submission with STARTTLS, and implicit TLS),
// the IMAP servers (STARTTLS and implicit TLS; INBOX and Sent, IDLE,
// UIDPLUS, MOVE), the IGC-Santé-shaped test PKI (root, ORGANISATIONS CA,
// SERV SSL server certificate, ORG AUTH_CLI and ORG SIGN certificates) with
// its CRLs and OCSP responder over HTTP, a mock Pro Santé Connect token
// issuer (OIDC discovery, JWKS, token endpoint), the mailbox store (in memory, or
// journaled to a directory), the MSSanté rules, auto-replies, MDNs, DSNs,
// faults and the event record. It uses package cda only to validate the
// matricule INS of citizen addresses and never imports probe.
//
// Use:
//
//	op, err := mocks.Start(ctx, mocks.Config{})
//	defer op.Close()
//	acct := op.Accounts()[0]            // medecin@hopital.test.mssante.fr, generated password
//	pool := x509.NewCertPool(); pool.AppendCertsFromPEM(op.CACertPEM())
//	// submit over op.SMTPAddr() (STARTTLS) to
//	// reponse.automatique-test@patient.mssante.fr, then read the reply
//	// in acct's INBOX over op.IMAPAddr().
//
// API summary (names other packages code against):
//
//	type Config, Account, Fault, Event, Operator
//	func ParseFault(s string) (Fault, error)
//	func Start(ctx, Config) (*Operator, error)
//	func (o *Operator) SMTPAddr, SMTPSAddr, IMAPAddr, IMAPSAddr, HTTPAddr() string
//	func (o *Operator) CACertPEM() []byte
//	func (o *Operator) Accounts() []Account
//	func (o *Operator) IssueClientCert(address string) (tls.Certificate, error)
//	func (o *Operator) PKIAddr, PSCAddr() string            // HTTP: CRL/OCSP, PSC issuer
//	func (o *Operator) PKI() PKIInfo                        // CAs, leaves, CRL/OCSP URLs
//	func (o *Operator) Roots() []*x509.Certificate          // anchors to inject in tests
//	func (o *Operator) IssueCert(CertRequest) (tls.Certificate, error)
//	func (o *Operator) Revoke(*x509.Certificate, time.Time) error
//	func (o *Operator) PSC() PSCInfo                        // issuer URLs, client credentials
//	func (o *Operator) PSCToken(address string, ttl time.Duration) (string, error)
//	func (o *Operator) Events() []Event
//	func (o *Operator) Verdicts() ([]Verdict, int)          // conformance verdicts, oldest dropped
//	func (o *Operator) Faults() []FaultState; SetFaults([]Fault) error
//	func (o *Operator) RateLimits() []RateLimit; SetRateLimits([]RateLimit) error
//	func (o *Operator) Reset() error                  // empty mailboxes, events, back to the start faults
//	func ParseRateLimit(s string) (RateLimit, error)
//	func (o *Operator) Close() error
//	func LoadWhitelist(io.Reader) ([]string, error)   // ANS listeblanchemssante.xml -> TrustedDomains
//
// Protocol behaviour:
//   - TLS 1.2 minimum. MAIL and AUTH before TLS get 530 5.7.0; no AUTH
//     mechanism is advertised in cleartext. Bad credentials get 535 5.7.8.
//   - SASL PLAIN and LOGIN (password), XOAUTH2 and OAUTHBEARER (an access
//     token of the mock Pro Santé Connect issuer, verified for signature,
//     issuer, audience, expiry and mailbox, or Account.Token; a refused
//     token gets the JSON 401 challenge then 535), and
//     EXTERNAL with a client certificate from IssueClientCert for accounts
//     with ClientCert. On SMTP such a certificate also logs in implicitly.
//   - MAIL FROM must be the authenticated mailbox (553 5.7.1).
//   - Recipients: accounts of the establishment domains, and on the citizen
//     domain reponse.automatique-test@ and <matricule INS>@ (key checked with
//     message.CheckCitizenAddress, 550 5.1.1 otherwise); citizen mailboxes are created
//     on first message. Other domains: 550 5.7.1 relay denied.
//   - Messages to citizens: sender domain in TrustedDomains (550 5.7.1),
//     size ≤ MaxMessageBytes (552 5.3.4), X-MSS-NIL present (warning event,
//     or 550 5.6.0 in refuse mode). A citizen cannot write first to a
//     professional, nor reply once the professional closed the thread with
//     X-MSS-MES: FIN (that message) or a [FIN] subject (every earlier
//     message): 550 5.7.1. Refusal texts start with the rule ID ([MOCK-…] or
//     [MSS-…], the latter from package message).
//   - Every message received over SMTP gets the verdict of package message
//     (the rules of `msscprobe message check`, envelope recipients):
//     Config.Conformance warn (default) records it in a "conformance" event,
//     an X-Msscprobe-Conformance header on the stored copy and Verdicts;
//     refuse also answers 550 5.6.0 [MSS-xxx] to a non-conforming message.
//   - When a DATA-time rule refuses only some recipients, the message is
//     accepted and a DSN (RFC 3464) reports the others; NOTIFY=SUCCESS gets a
//     "delivered" DSN. DSNs and MDNs go to local mailboxes only.
//   - reponse.automatique-test@ (and every citizen with AutoReplyCitizens)
//     answers after AutoReplyDelay with In-Reply-To and References carrying
//     the original Message-ID, to the MSS Reply-To or else From; the answer
//     is also stored in the citizen's Sent. Disposition-Notification-To gets
//     an automatic "processed" MDN (RFC 8098 multipart/report).
//   - Delivery appends to the mailbox in memory before the SMTP 250: an IMAP
//     client idling on INBOX is notified at once.
//   - Bounded inputs (docs/mock.md, Limits): messages being received hold
//     at most MaxInFlightBytes together (452 4.3.1 / NO [LIMIT] past it);
//     an IMAP gate in front of go-imap's server (it does STARTTLS itself)
//     answers at once literals over 4096 bytes outside APPEND and mailbox
//     names go-imap cannot decode, and cuts a connection not logged in
//     after 60 s or 64 KiB.
//
// Durability with StoreDir: every mailbox mutation is journaled (write(2)
// before the client is answered) and replayed at start, which restores the
// same UIDs and UIDVALIDITY. Journals are fsync'd every second and on
// Close: a clean shutdown (Close, or mock serve interrupted) loses nothing,
// a crash of the process loses nothing acknowledged, a power loss may lose
// the last second. Auto-replies still waiting for their delay are delivered
// by Close. Fault counters and greylisting state are not persisted. Every
// journal state a kill can leave starts (torn records are cut off and
// reported as warn events); a corrupt record is a start error naming the
// file and offset.
//
// Faults (ParseFault syntax NAME[=VALUE][@PROBABILITY][#COUNT][,to=ADDR]
// [,from=ADDR]) are listed with the Fault* constants; docs/mock.md
// describes each one. Rate limits are token buckets per client or account
// answering 451 or 421 at MAIL FROM.
//
// With Config.ListenHTTP, an HTTP API on loopback (openapi.json, also
// docs/mock-openapi.json) lists the messages of each mailbox with their
// envelope and conformance verdict, the events, and sets faults and rate
// limits or resets the mock at run time; / is a page in French. IMAP
// mailboxes are kept by internal/imapmem, a copy of go-imap's
// imapmemserver fixed for real sync clients (see its doc).
package mocks
