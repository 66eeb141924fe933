package mocks

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks/internal/imapmem"
)

// The HTTP API (Config.ListenHTTP, mock serve --listen-http) lets a CI in
// any language read what the mock received, with each message's
// conformance verdict, and drive faults, rate limits and resets. It has no
// authentication, so it listens on loopback only. openapi.json describes
// it (docs/mock-openapi.json is the same file; a test keeps both and the
// routes in step).

//go:embed openapi.json
var openAPIDoc []byte

const apiPrefix = "/api/v1"

// Bounds of the HTTP inputs.
const (
	maxAPIBody      = 64 << 10
	maxAPIListItems = 100 // faults or rate limits in one PUT
	maxPageMessages = 1000
	defPageMessages = 100
	maxPageEvents   = 10000
	defPageEvents   = 1000
	maxFolderName   = 200
	maxAddressLen   = 254
	pageFolderShown = 200 // messages per folder on the HTML page
)

// ErrHTTPListen is wrapped by the errors of a bad ListenHTTP address.
var ErrHTTPListen = errors.New("HTTP API listen address")

// apiError is the JSON error body: a stable code and a message.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: code, Message: fmt.Sprintf(format, args...)}
}

type route struct {
	method, path string
	h            func(w http.ResponseWriter, r *http.Request) error
}

// routes lists every handler; the OpenAPI test walks it.
func (o *Operator) routes() []route {
	return []route{
		{"GET", "/{$}", o.handlePage},
		{"GET", apiPrefix + "/openapi.json", o.handleOpenAPI},
		{"GET", apiPrefix + "/mailboxes", o.handleMailboxes},
		{"GET", apiPrefix + "/mailboxes/{address}/messages", o.handleMessages},
		{"GET", apiPrefix + "/mailboxes/{address}/messages/{uid}", o.handleMessage},
		{"GET", apiPrefix + "/mailboxes/{address}/messages/{uid}/raw", o.handleRaw},
		{"GET", apiPrefix + "/events", o.handleEvents},
		{"GET", apiPrefix + "/faults", o.handleFaults},
		{"PUT", apiPrefix + "/faults", o.handlePutFaults},
		{"DELETE", apiPrefix + "/faults", o.handleDeleteFaults},
		{"GET", apiPrefix + "/rate-limits", o.handleRateLimits},
		{"PUT", apiPrefix + "/rate-limits", o.handlePutRateLimits},
		{"DELETE", apiPrefix + "/rate-limits", o.handleDeleteRateLimits},
		{"POST", apiPrefix + "/reset", o.handleReset},
	}
}

func (o *Operator) httpHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range o.routes() {
		h := rt.h
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Cache-Control", "no-store")
			err := checkOrigin(r)
			if err == nil {
				err = h(w, r)
			}
			if err != nil {
				var ae *apiError
				if !errors.As(err, &ae) {
					ae = &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
				}
				writeJSON(w, ae.Status, map[string]*apiError{"error": ae})
			}
		})
	}
	return mux
}

// listenHTTP binds the HTTP API when configured; loopback only, since
// it reads every mailbox and resets the mock without authentication
// (Config.normalize has checked the address with checkLoopback; what
// "localhost" resolves to is checked here).
func (o *Operator) listenHTTP() error {
	if o.cfg.ListenHTTP == "" || strings.EqualFold(o.cfg.ListenHTTP, "off") {
		return nil
	}
	w, _, err := o.bindWeb(lnHTTP, o.cfg.ListenHTTP)
	if err != nil {
		return tagged{err, ErrHTTPListen}
	}
	if a, ok := w.ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		w.stop()
		return tagged{check.Errorf("adresse d'écoute HTTP %s : pas une adresse de boucle locale (l'API n'a pas d'authentification)", "HTTP listen address %s: not a loopback address (the API has no authentication)", o.cfg.ListenHTTP), ErrHTTPListen}
	}
	o.apiWeb = w
	w.serve(o.httpHandler(), o.rec, lnHTTP)
	return nil
}

const lnHTTP = "http"

// checkLoopback accepts HOST:PORT with a loopback IP or localhost, before
// anything is bound.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return tagged{check.Errorf("adresse d'écoute HTTP %q : HÔTE:PORT attendu, par exemple 127.0.0.1:8025", "HTTP listen address %q: want HOST:PORT, e.g. 127.0.0.1:8025", addr), ErrHTTPListen}
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return tagged{check.Errorf("adresse d'écoute HTTP %q : seule une adresse de boucle locale (127.0.0.1, ::1, localhost) est permise, l'API n'a pas d'authentification", "HTTP listen address %q: only a loopback address (127.0.0.1, ::1, localhost) is allowed, the API has no authentication", addr), ErrHTTPListen}
	}
	return nil
}

// checkOrigin refuses what a web page could make a browser send: a Host
// that is not a loopback name (DNS rebinding would let a remote page read
// the mailboxes), and a POST, PUT or DELETE from another origin (a
// cross-site form could reset the mock).
func checkOrigin(r *http.Request) error {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return &apiError{Status: http.StatusForbidden, Code: "forbidden_host", Message: fmt.Sprintf("Host %q: only loopback names are served", r.Host)}
	}
	if origin := r.Header.Get("Origin"); origin != "" && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
			return &apiError{Status: http.StatusForbidden, Code: "cross_origin", Message: fmt.Sprintf("Origin %q: requests that change the mock must come from its own pages or from a non-browser client", origin)}
		}
	}
	return nil
}

// HTTPAddr is the address of the HTTP API, "" when disabled.
func (o *Operator) HTTPAddr() string { return o.addrs[lnHTTP] }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// readJSON decodes one bounded JSON object with no unknown field.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/json, not " + ct}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("request body over %d bytes", maxAPIBody)}
		}
		return badRequest("invalid_json", "request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid_json", "request body: one JSON object expected, found more")
	}
	return nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("bad_parameter", "%s=%q: want an integer from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// --- mailboxes and messages ---

type apiFolder struct {
	Name     string `json:"name"`
	Messages int    `json:"messages"`
}

type apiMailbox struct {
	Address string      `json:"address"`
	Folders []apiFolder `json:"folders"`
}

type apiEnvelope struct {
	MailFrom   string    `json:"mail_from"`
	RcptTo     []string  `json:"rcpt_to"`
	ReceivedAt time.Time `json:"received_at"`
}

// Conformance statuses of the API.
const (
	StatusUnchecked     = "unchecked"
	StatusConforming    = "conforming"
	StatusNonConforming = "non-conforming"
)

type apiConformance struct {
	Status   string          `json:"status"`
	Findings []check.Finding `json:"findings"`
	// Count says how many findings there were: a verdict keeps the first 5.
	Count int `json:"finding_count"`
}

type apiMessage struct {
	Mailbox      string         `json:"mailbox"`
	Folder       string         `json:"folder"`
	UID          uint32         `json:"uid"`
	Size         int64          `json:"size"`
	Flags        []string       `json:"flags"`
	InternalDate time.Time      `json:"internal_date"`
	MessageID    string         `json:"message_id"`
	Subject      string         `json:"subject"`
	From         []string       `json:"from"`
	To           []string       `json:"to"`
	Date         string         `json:"date"`
	Envelope     *apiEnvelope   `json:"envelope"`
	Conformance  apiConformance `json:"conformance"`
	RawURL       string         `json:"raw_url"`
}

func (o *Operator) handleMailboxes(w http.ResponseWriter, r *http.Request) error {
	out := []apiMailbox{}
	for _, addr := range o.Mailboxes() {
		u, _ := o.store.user(addr, false)
		if u == nil {
			continue
		}
		mb := apiMailbox{Address: addr, Folders: []apiFolder{}}
		for _, name := range u.mem.Mailboxes() {
			st, err := u.mem.Status(name, &imap.StatusOptions{NumMessages: true})
			if err != nil {
				continue // deleted meanwhile
			}
			mb.Folders = append(mb.Folders, apiFolder{Name: name, Messages: int(*st.NumMessages)})
		}
		out = append(out, mb)
	}
	writeJSON(w, http.StatusOK, map[string]any{"mailboxes": out})
	return nil
}

// mailboxParams resolves {address} and ?folder= of a request.
func (o *Operator) mailboxParams(r *http.Request) (*mailUser, string, error) {
	addr := strings.ToLower(r.PathValue("address"))
	if len(addr) > maxAddressLen {
		return nil, "", badRequest("bad_parameter", "address of %d bytes: at most %d", len(addr), maxAddressLen)
	}
	u, _ := o.store.user(addr, false)
	if u == nil {
		return nil, "", notFound("unknown_mailbox", "no mailbox %q", addr)
	}
	folder := r.URL.Query().Get("folder")
	if folder == "" {
		folder = "INBOX"
	}
	if len(folder) > maxFolderName {
		return nil, "", badRequest("bad_parameter", "folder of %d bytes: at most %d", len(folder), maxFolderName)
	}
	if _, err := u.mem.Status(folder, &imap.StatusOptions{}); err != nil {
		return nil, "", notFound("unknown_folder", "mailbox %s has no folder %q", addr, folder)
	}
	return u, folder, nil
}

func (o *Operator) handleMessages(w http.ResponseWriter, r *http.Request) error {
	u, folder, err := o.mailboxParams(r)
	if err != nil {
		return err
	}
	after, err := intParam(r, "after", 0, 0, 1<<32-1)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", defPageMessages, 1, maxPageMessages)
	if err != nil {
		return err
	}
	infos, err := u.mem.Messages(folder, imap.UID(after), limit)
	if err != nil {
		return notFound("unknown_folder", "%v", err)
	}
	out := make([]apiMessage, 0, len(infos))
	for _, info := range infos {
		out = append(out, o.apiMessage(u.addr, folder, info))
	}
	writeJSON(w, http.StatusOK, map[string]any{"mailbox": u.addr, "folder": folder, "messages": out})
	return nil
}

func (o *Operator) messageParams(r *http.Request) (*mailUser, string, imapmem.MessageInfo, error) {
	u, folder, err := o.mailboxParams(r)
	if err != nil {
		return nil, "", imapmem.MessageInfo{}, err
	}
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 32)
	if err != nil || uid == 0 {
		return nil, "", imapmem.MessageInfo{}, badRequest("bad_parameter", "uid %q: want a positive integer", r.PathValue("uid"))
	}
	info, ok, err := u.mem.Message(folder, imap.UID(uid))
	if err != nil || !ok {
		return nil, "", imapmem.MessageInfo{}, notFound("unknown_message", "no message UID %d in %s of %s", uid, folder, u.addr)
	}
	return u, folder, info, nil
}

func (o *Operator) handleMessage(w http.ResponseWriter, r *http.Request) error {
	u, folder, info, err := o.messageParams(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o.apiMessage(u.addr, folder, info))
	return nil
}

func (o *Operator) handleRaw(w http.ResponseWriter, r *http.Request) error {
	_, _, info, err := o.messageParams(r)
	if err != nil {
		return err
	}
	raw := info.Raw
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	_, _ = w.Write(raw)
	return nil
}

// apiMessage describes a stored message: header fields decoded, the
// envelope and verdict recorded when the mock received it over SMTP.
func (o *Operator) apiMessage(owner, folder string, info imapmem.MessageInfo) apiMessage {
	raw := info.Raw
	m := apiMessage{
		Mailbox: owner, Folder: folder, UID: uint32(info.UID), Size: info.Size, Flags: []string{},
		InternalDate: info.Time.UTC(), From: []string{}, To: []string{},
		Conformance: apiConformance{Status: StatusUnchecked, Findings: []check.Finding{}},
		RawURL:      fmt.Sprintf("%s/mailboxes/%s/messages/%d/raw?folder=%s", apiPrefix, url.PathEscape(owner), info.UID, url.QueryEscape(folder)),
	}
	for _, f := range info.Flags {
		m.Flags = append(m.Flags, string(f))
	}
	if h, err := readHeader(raw); err == nil {
		mh := mail.Header{Header: message.Header{Header: h}}
		m.MessageID = msgID(h.Get("Message-Id"))
		if s, err := mh.Subject(); err == nil {
			m.Subject = s
		} else {
			m.Subject = h.Get("Subject")
		}
		m.From, m.To = addrList(mh, "From"), addrList(mh, "To")
		if d, err := mh.Date(); err == nil {
			m.Date = d.Format(time.RFC3339)
		}
	}
	if rc := o.receipts.get(raw); rc != nil {
		m.Envelope = &apiEnvelope{MailFrom: rc.From, RcptTo: rc.To, ReceivedAt: rc.At}
		if c := rc.Conformance; c != nil {
			m.Conformance.Status = StatusConforming
			if !c.Conforms {
				m.Conformance.Status = StatusNonConforming
			}
			if c.Findings != nil {
				m.Conformance.Findings = c.Findings
			}
			m.Conformance.Count = max(c.Count, len(m.Conformance.Findings))
		}
	}
	return m
}

func addrList(h mail.Header, key string) []string {
	out := []string{}
	list, err := h.AddressList(key)
	if err != nil {
		if v := strings.TrimSpace(h.Get(key)); v != "" {
			out = append(out, v)
		}
		return out
	}
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

// --- events ---

func (o *Operator) handleEvents(w http.ResponseWriter, r *http.Request) error {
	since, err := intParam(r, "since", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", defPageEvents, 1, maxPageEvents)
	if err != nil {
		return err
	}
	evs, next := o.rec.since(since, limit)
	writeJSON(w, http.StatusOK, map[string]any{"events": evs, "next": next})
	return nil
}

// --- faults and rate limits ---

type apiFault struct {
	Spec      string `json:"spec"`
	Fired     int    `json:"fired"`
	StartOnly bool   `json:"start_only"`
}

type apiSpecs struct {
	Faults     []string `json:"faults,omitempty"`
	RateLimits []string `json:"rate_limits,omitempty"`
}

func (o *Operator) handleFaults(w http.ResponseWriter, r *http.Request) error {
	out := []apiFault{}
	for _, st := range o.Faults() {
		out = append(out, apiFault{Spec: st.Fault.String(), Fired: st.Fired, StartOnly: startOnlyFaults[st.Fault.Name]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": out})
	return nil
}

func (o *Operator) handlePutFaults(w http.ResponseWriter, r *http.Request) error {
	var body apiSpecs
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if body.RateLimits != nil {
		return badRequest("invalid_json", "rate_limits belong to PUT %s/rate-limits", apiPrefix)
	}
	list, err := parseSpecs(body.Faults, "faults", "bad_fault", ParseFault)
	if err != nil {
		return err
	}
	if err := o.SetFaults(list); err != nil {
		if errors.Is(err, ErrStartOnlyFault) {
			return &apiError{Status: http.StatusConflict, Code: "start_only_fault", Message: err.Error()}
		}
		return badRequest("bad_fault", "%v", err)
	}
	return o.handleFaults(w, r)
}

// parseSpecs parses a bounded list of fault or rate-limit specifications.
func parseSpecs[T any](specs []string, what, code string, parse func(string) (T, error)) ([]T, error) {
	if len(specs) > maxAPIListItems {
		return nil, badRequest("too_many", "%d %s: at most %d", len(specs), what, maxAPIListItems)
	}
	var out []T
	for _, s := range specs {
		v, err := parse(s)
		if err != nil {
			return nil, badRequest(code, "%v", err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (o *Operator) handleDeleteFaults(w http.ResponseWriter, r *http.Request) error {
	if err := o.SetFaults(nil); err != nil {
		return err
	}
	return o.handleFaults(w, r)
}

func (o *Operator) handleRateLimits(w http.ResponseWriter, r *http.Request) error {
	out := []string{}
	for _, rl := range o.RateLimits() {
		out = append(out, rl.String())
	}
	writeJSON(w, http.StatusOK, map[string]any{"rate_limits": out})
	return nil
}

func (o *Operator) handlePutRateLimits(w http.ResponseWriter, r *http.Request) error {
	var body apiSpecs
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if body.Faults != nil {
		return badRequest("invalid_json", "faults belong to PUT %s/faults", apiPrefix)
	}
	list, err := parseSpecs(body.RateLimits, "rate limits", "bad_rate_limit", ParseRateLimit)
	if err != nil {
		return err
	}
	if err := o.SetRateLimits(list); err != nil {
		return badRequest("bad_rate_limit", "%v", err)
	}
	return o.handleRateLimits(w, r)
}

func (o *Operator) handleDeleteRateLimits(w http.ResponseWriter, r *http.Request) error {
	if err := o.SetRateLimits(nil); err != nil {
		return err
	}
	return o.handleRateLimits(w, r)
}

func (o *Operator) handleReset(w http.ResponseWriter, r *http.Request) error {
	if err := o.Reset(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	return nil
}

func (o *Operator) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openAPIDoc)
	return nil
}
