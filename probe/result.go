package probe

import (
	"time"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

// SchemaVersion identifies the JSON shape of Result. Bump it on any change
// that a consumer (evidence bundles, editors' CI) could notice.
const SchemaVersion = "msscprobe.probe/v1"

// Status is the outcome of one check or step.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// Check is one verified fact within a step, with a stable rule ID
// (e.g. "SMTP-TLS-001") declared in this package's catalog.
type Check struct {
	ID      string     `json:"id"`
	Status  Status     `json:"status"`
	Message check.Text `json:"message"`
	Source  string     `json:"source,omitempty"`
	// Evidence points into the bundle, e.g. "transcripts/smtp.log#L12" or
	// "tls/smtp-chain.pem".
	Evidence []string `json:"evidence,omitempty"`
}

// Step is one phase of the round trip (connection, TLS, authentication,
// submission, reception, …).
type Step struct {
	ID       string        `json:"id"`
	Title    check.Text    `json:"title"`
	Status   Status        `json:"status"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Checks   []Check       `json:"checks"`
}

// Endpoint is a server as the probe reached it.
type Endpoint struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	TLS  string `json:"tls"` // "starttls" or "implicit"
	// Addr is the IP address and port actually connected to.
	Addr string `json:"addr,omitempty"`
	// TLSVersion and CipherSuite are what was negotiated, empty when TLS failed.
	TLSVersion  string `json:"tls_version,omitempty"`
	CipherSuite string `json:"cipher_suite,omitempty"`
	// PeerChain is the certificate chain the server presented, leaf first,
	// DER-encoded.
	PeerChain [][]byte `json:"peer_chain,omitempty"`
	// Class is what the server is, as far as the probe could tell: its
	// trust anchor, certificate profile, revocation status, address class
	// and whether it belongs to the MSSanté trust space. Nil when TLS
	// failed before a certificate was seen.
	Class *ServerClass `json:"classification,omitempty"`
}

// ServerClass classifies one server (SMTP or IMAP) for the environment
// decision. Each field is a stable lower-case word so that verifiers can
// read it without the probe's code.
type ServerClass struct {
	// Anchor: "igc-sante-prod", "igc-sante-test", "public", "private"
	// (a private or self-signed root), or "none" (no chain verified).
	Anchor string `json:"anchor"`
	// AnchorName is the subject CN of the root the chain ends at.
	AnchorName string `json:"anchor_name,omitempty"`
	// ServSSL is true when the leaf has the IGC-Santé SERV SSL profile
	// (policy OID, key usages, a dNSName matching the host).
	ServSSL bool `json:"serv_ssl"`
	// Revocation: "good", "revoked", or "unknown" (never "good" unless a
	// CRL or OCSP answer said so).
	Revocation       string `json:"revocation"`
	RevocationSource string `json:"revocation_source,omitempty"` // "crl URL" or "ocsp URL"
	// Address: "loopback", "private" or "public", of the address dialled.
	Address string `json:"address"`
	// TrustSpace is true when the mail domain is in the ANS whitelist and
	// the certificate's DN matches the operator listed for it.
	TrustSpace bool `json:"trust_space"`
	// TLSAcceptable is true for TLS 1.2 or later with an AEAD suite.
	TLSAcceptable bool `json:"tls_acceptable"`
}

// Environment kinds: a run proves PS 4.1 on the real MSSanté trust space
// only when it is "mssante"; anything else is a test bed.
const (
	EnvMSSante = "mssante"
	EnvTest    = "test"
)

// Environment is what a run proves: EnvMSSante only when both servers chain
// to IGC-Santé production with a SERV SSL profile, are not on loopback or
// private addresses, the target is on patient.mssante.fr and the reply came
// from it; EnvTest otherwise, with every reason listed.
type Environment struct {
	Kind    string       `json:"kind"`
	Reasons []check.Text `json:"reasons,omitempty"`
}

// Establishment identifies who ran the probe.
type Establishment struct {
	Name    string `json:"name"`
	FINESS  string `json:"finess,omitempty"`
	Address string `json:"address"`
}

// Message is a raw RFC 5322 message with the few headers a reader needs.
type Message struct {
	Kind      string    `json:"kind"` // "sent", "reply", "mdn", "dsn", "bounce"
	MessageID string    `json:"message_id,omitempty"`
	From      string    `json:"from,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Received  time.Time `json:"received,omitempty"`
	Raw       []byte    `json:"-"`
}

// Result is one probe run as data. Renderers (text, JSON, JUnit, the
// evidence bundle and its PDF report) all work from it.
type Result struct {
	Schema        string        `json:"schema"`
	ToolVersion   string        `json:"tool_version"`
	Establishment Establishment `json:"establishment"`
	Target        string        `json:"target"`
	ReplyMode     string        `json:"reply_mode"`
	AuthMechanism string        `json:"auth_mechanism"`
	SMTP          Endpoint      `json:"smtp"`
	IMAP          Endpoint      `json:"imap"`
	Started       time.Time     `json:"started"`
	Finished      time.Time     `json:"finished"`
	// Token is the unique probe token carried in the subject; MessageID the
	// Message-ID of the sent message.
	Token     string `json:"token"`
	MessageID string `json:"message_id,omitempty"`
	QueueID   string `json:"queue_id,omitempty"`
	// Sent is when the server accepted the message (end of DATA), zero
	// when it was not.
	Sent time.Time `json:"sent,omitzero"`
	// ReplyLatency is from the end of DATA to the reply being seen, zero when
	// no reply came.
	ReplyLatency time.Duration `json:"reply_latency_ns,omitempty"`
	// Environment says whether the run touched the real MSSanté trust space
	// or a test bed; it is signed with the rest of the result.
	Environment Environment `json:"environment"`
	Steps       []Step      `json:"steps"`
	// Met is the PS 4.1 verdict: true only when the message was accepted and
	// a correlated reply came back.
	Met bool `json:"ps41_met"`
	// Interrupted is set when the run was cancelled (Ctrl-C) and the result
	// is partial.
	Interrupted bool `json:"interrupted,omitempty"`
	// Messages holds the sent message, the reply and any DSN/MDN/bounce.
	Messages []Message `json:"messages,omitempty"`
	// Transcripts are the SMTP and IMAP exchanges with credentials redacted.
	SMTPTranscript []byte `json:"-"`
	IMAPTranscript []byte `json:"-"`
	// Document is the CDA check of the attached document, nil when none.
	Document *cda.Report `json:"document,omitempty"`
	// Attachment is the attached file as read from the configuration's
	// `attach` path, nil when none. The evidence bundle copies it only when
	// Document shows no production INS, or with --include-personal-data.
	Attachment *Attachment `json:"attachment,omitempty"`
}

// Attachment is the CDA document or IHE XDM archive that was attached.
type Attachment struct {
	Name string `json:"name"` // base name of the file
	Raw  []byte `json:"-"`
}

// Duration is the wall time of the run.
func (r *Result) Duration() time.Duration { return r.Finished.Sub(r.Started) }
