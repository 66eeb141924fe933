package mocks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
)

func httpOp(t *testing.T) *Operator {
	t.Helper()
	cfg := testConfig()
	cfg.ListenHTTP = "127.0.0.1:0"
	return startOp(t, cfg)
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// api calls the HTTP API and decodes the JSON answer into out (when not
// nil); it returns the status code.
func api(t *testing.T, op *Operator, method, path, body string, out any) int {
	t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	code, b := httpDo(t, method, "http://"+op.HTTPAddr()+path, ctype, []byte(body))
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, code, b, err)
		}
	}
	return code
}

type errBody struct {
	Error apiError `json:"error"`
}

func TestHTTPListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:8025", "example.org:80", "8025", ":8025"} {
		cfg := testConfig()
		cfg.ListenHTTP = addr
		if _, err := Start(t.Context(), cfg); !errors.Is(err, ErrHTTPListen) {
			t.Errorf("ListenHTTP %q: %v, want ErrHTTPListen", addr, err)
		}
	}
}

// TestHTTPAPI walks the API as an editor's CI would: read what arrived,
// inject faults, rate limits, reset.
func TestHTTPAPI(t *testing.T) {
	op := httpOp(t)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<api1@test>", "=?utf-8?q?Compte_rendu_=C3=A9crit?=", ""), nil); err != nil {
		t.Fatal(err)
	}

	var boxes struct{ Mailboxes []apiMailbox }
	if code := api(t, op, "GET", "/api/v1/mailboxes", "", &boxes); code != 200 {
		t.Fatalf("mailboxes: %d", code)
	}
	i := slices.IndexFunc(boxes.Mailboxes, func(m apiMailbox) bool { return m.Address == patientA })
	if i < 0 || !slices.Contains(boxes.Mailboxes[i].Folders, apiFolder{Name: "INBOX", Messages: 1}) {
		t.Fatalf("mailboxes %+v: want %s with 1 message in INBOX", boxes, patientA)
	}

	var list struct {
		Mailbox, Folder string
		Messages        []apiMessage
	}
	api(t, op, "GET", "/api/v1/mailboxes/"+patientA+"/messages", "", &list)
	if len(list.Messages) != 1 {
		t.Fatalf("messages: %+v", list)
	}
	m := list.Messages[0]
	if m.Subject != "Compte rendu écrit" || m.MessageID != "<api1@test>" || !slices.Equal(m.From, []string{doctor}) ||
		m.Envelope == nil || m.Envelope.MailFrom != doctor || !slices.Equal(m.Envelope.RcptTo, []string{patientA}) ||
		m.Conformance.Status != StatusConforming || m.Conformance.Findings == nil || m.UID != 1 {
		t.Errorf("message %+v", m)
	}
	var one apiMessage
	if code := api(t, op, "GET", fmt.Sprintf("/api/v1/mailboxes/%s/messages/%d", patientA, m.UID), "", &one); code != 200 || one.MessageID != m.MessageID {
		t.Errorf("one message: %d %+v", code, one)
	}
	resp, err := httpClient.Get("http://" + op.HTTPAddr() + m.RawURL)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "message/rfc822" || int64(len(raw)) != m.Size || !bytes.Contains(raw, []byte("Message-ID: <api1@test>")) {
		t.Errorf("raw: %s, %d bytes (size %d)", ct, len(raw), m.Size)
	}

	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/api/v1/mailboxes/nobody@hopital.test.mssante.fr/messages", 404, "unknown_mailbox"},
		{"/api/v1/mailboxes/" + patientA + "/messages?folder=Nope", 404, "unknown_folder"},
		{"/api/v1/mailboxes/" + patientA + "/messages/99", 404, "unknown_message"},
		{"/api/v1/mailboxes/" + patientA + "/messages/abc", 400, "bad_parameter"},
		{"/api/v1/mailboxes/" + patientA + "/messages?limit=0", 400, "bad_parameter"},
		{"/api/v1/mailboxes/" + patientA + "/messages?limit=1001", 400, "bad_parameter"},
		{"/api/v1/mailboxes/" + patientA + "/messages?folder=" + strings.Repeat("x", 201), 400, "bad_parameter"},
		{"/api/v1/events?since=-1", 400, "bad_parameter"},
	} {
		var eb errBody
		if code := api(t, op, "GET", tc.path, "", &eb); code != tc.code || eb.Error.Code != tc.want || eb.Error.Message == "" {
			t.Errorf("GET %s: %d %+v, want %d %s", tc.path, code, eb, tc.code, tc.want)
		}
	}

	var evs struct {
		Events []Event
		Next   int
	}
	api(t, op, "GET", "/api/v1/events?since=0&limit=10000", "", &evs)
	if !slices.ContainsFunc(evs.Events, func(e Event) bool { return e.Kind == KindDeliver && slices.Contains(e.To, patientA) }) {
		t.Errorf("events lack the delivery: %+v", evs.Events)
	}
	var evs2 struct {
		Events []Event
		Next   int
	}
	api(t, op, "GET", fmt.Sprintf("/api/v1/events?since=%d", evs.Next), "", &evs2)
	if evs2.Next < evs.Next {
		t.Errorf("next went back: %d then %d", evs.Next, evs2.Next)
	}

	// What a web page could make a browser send is refused.
	for _, tc := range []struct {
		method, host, origin, want string
	}{
		{"GET", "evil.example:8025", "", "forbidden_host"},
		{"POST", op.HTTPAddr(), "http://evil.example", "cross_origin"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, "http://"+op.HTTPAddr()+"/api/v1/reset", nil)
		if tc.method == "GET" {
			req.URL.Path = "/api/v1/mailboxes"
		}
		req.Host = tc.host
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb errBody
		json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != 403 || eb.Error.Code != tc.want {
			t.Errorf("%s Host %s Origin %q: %d %+v, want 403 %s", tc.method, tc.host, tc.origin, resp.StatusCode, eb, tc.want)
		}
	}
	if n := countMailbox(t, op, patientA, "INBOX"); n != 1 {
		t.Fatalf("a refused request changed the mock: %d messages", n)
	}

	// Faults at run time.
	var fl struct{ Faults []apiFault }
	if code := api(t, op, "PUT", "/api/v1/faults", `{"faults":["rcpt=550,to=`+patientB+`"]}`, &fl); code != 200 || len(fl.Faults) != 1 || fl.Faults[0].Spec != "rcpt=550,to="+patientB {
		t.Fatalf("PUT faults: %d %+v", code, fl)
	}
	if err := send(c, doctor, []string{patientB}, msg(doctor, patientB, "<api2@test>", "b", ""), nil); smtpCode(err) != 550 {
		t.Errorf("fault set over HTTP: %v", err)
	}
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<api3@test>", "a", ""), nil); err != nil {
		t.Errorf("the fault selects %s only: %v", patientB, err)
	}
	api(t, op, "GET", "/api/v1/faults", "", &fl)
	if len(fl.Faults) != 1 || fl.Faults[0].Fired != 1 {
		t.Errorf("fault counter: %+v", fl)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"PUT", "/api/v1/faults", `{"faults":["explode"]}`, 400, "bad_fault"},
		{"PUT", "/api/v1/faults", `{"faults":["tls-expired"]}`, 409, "start_only_fault"},
		{"PUT", "/api/v1/faults", `{"faults":["tls-revoked"]}`, 409, "start_only_fault"},
		{"PUT", "/api/v1/faults", `{"faults":["rcpt=550"],"extra":1}`, 400, "invalid_json"},
		{"PUT", "/api/v1/faults", `{"faults":["rcpt=550"]}{}`, 400, "invalid_json"},
		{"PUT", "/api/v1/faults", `{"faults":` + strings.Repeat(" ", 70<<10) + `[]}`, 413, "body_too_large"},
		{"PUT", "/api/v1/faults", `{"faults":[` + strings.Repeat(`"no-reply",`, 100) + `"no-reply"]}`, 400, "too_many"},
		{"PUT", "/api/v1/rate-limits", `{"rate_limits":["client=5/fortnight"]}`, 400, "bad_rate_limit"},
		{"PUT", "/api/v1/rate-limits", `{"faults":["no-reply"]}`, 400, "invalid_json"},
	} {
		var eb errBody
		if code := api(t, op, tc.method, tc.path, tc.body, &eb); code != tc.code || eb.Error.Code != tc.want {
			t.Errorf("%s %s %.60q: %d %+v, want %d %s", tc.method, tc.path, tc.body, code, eb, tc.code, tc.want)
		}
	}
	if code := api(t, op, "DELETE", "/api/v1/faults", "", &fl); code != 200 || len(fl.Faults) != 0 {
		t.Errorf("DELETE faults: %d %+v", code, fl)
	}
	if err := send(c, doctor, []string{patientB}, msg(doctor, patientB, "<api4@test>", "b", ""), nil); err != nil {
		t.Errorf("after DELETE faults: %v", err)
	}

	// Rate limits at run time.
	var rl struct {
		RateLimits []string `json:"rate_limits"`
	}
	if code := api(t, op, "PUT", "/api/v1/rate-limits", `{"rate_limits":["account=1/h"]}`, &rl); code != 200 || !slices.Equal(rl.RateLimits, []string{"account=1/h"}) {
		t.Fatalf("PUT rate-limits: %d %+v", code, rl)
	}
	send(c, doctor, []string{patientA}, msg(doctor, patientA, "<api5@test>", "a", ""), nil)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<api6@test>", "a", ""), nil); smtpCode(err) != 451 {
		t.Errorf("rate limit set over HTTP: %v", err)
	}
	api(t, op, "DELETE", "/api/v1/rate-limits", "", &rl)
	if len(rl.RateLimits) != 0 {
		t.Errorf("DELETE rate-limits: %+v", rl)
	}

	// Reset: mailboxes empty, numbering of events restarts, an IMAP
	// session logged in before goes on.
	ic := loginIMAP(t, op, patientA)
	var st map[string]string
	if code := api(t, op, "POST", "/api/v1/reset", "", &st); code != 200 || st["status"] != "reset" {
		t.Fatalf("reset: %d %v", code, st)
	}
	api(t, op, "GET", "/api/v1/mailboxes/"+patientA+"/messages", "", &list)
	if len(list.Messages) != 0 {
		t.Errorf("after reset: %+v", list.Messages)
	}
	api(t, op, "GET", "/api/v1/events", "", &evs)
	if len(evs.Events) != 1 || evs.Events[0].Kind != "reset" {
		t.Errorf("events after reset: %+v", evs.Events)
	}
	if got := fetchAll(t, ic, "INBOX"); len(got) != 0 {
		t.Errorf("IMAP after reset sees %d messages", len(got))
	}
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<api7@test>", "again", ""), nil); err != nil {
		t.Fatal(err)
	}
	api(t, op, "GET", "/api/v1/mailboxes/"+patientA+"/messages", "", &list)
	if len(list.Messages) != 1 || list.Messages[0].UID <= m.UID {
		t.Errorf("after reset a new message gets a fresh UID: %+v", list.Messages)
	}
}

// TestHTTPConformanceVerdict: the verdict the mock gives a message it
// receives (package message) is the one the API and the page show, with
// its findings; a reset drops the verdicts.
func TestHTTPConformanceVerdict(t *testing.T) {
	op := httpOp(t)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{nurse}, msg(doctor, nurse, "<fin@test>", "s", "X-MSS-MES: fin\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	var m apiMessage
	api(t, op, "GET", "/api/v1/mailboxes/"+nurse+"/messages/1", "", &m)
	if m.Conformance.Status != StatusNonConforming || !slices.ContainsFunc(m.Conformance.Findings, func(f check.Finding) bool {
		return f.Rule == message.RuleMES.ID && f.Severity == check.Error && f.Source != "" && f.Message.FR != ""
	}) {
		t.Errorf("conformance %+v, want non-conforming with %s", m.Conformance, message.RuleMES.ID)
	}
	if page := getPage(t, op); !strings.Contains(page, message.RuleMES.ID) || !strings.Contains(page, ">non conforme<") {
		t.Errorf("the page lacks the verdict of the message")
	}
	var evs struct{ Events []Event }
	api(t, op, "GET", "/api/v1/events", "", &evs)
	if !slices.ContainsFunc(evs.Events, func(e Event) bool {
		return e.Kind == KindConformance && e.Verdict == "fail" && e.Rule == message.RuleMES.ID
	}) {
		t.Errorf("no conformance event over HTTP: %+v", evs.Events)
	}
	api(t, op, "POST", "/api/v1/reset", "", nil)
	if vs, _ := op.Verdicts(); len(vs) != 0 {
		t.Errorf("verdicts after reset: %d", len(vs))
	}
}

// TestHTTPVerdict: a verdict recorded with the received message reaches
// the API and the page.
func TestHTTPVerdict(t *testing.T) {
	op := httpOp(t)
	c := mustSMTP(t, op, doctor)
	if err := send(c, doctor, []string{patientA}, msg(doctor, patientA, "<v1@test>", "verdict", ""), nil); err != nil {
		t.Fatal(err)
	}
	setVerdict(t, op, patientA, nonConforming)
	var m apiMessage
	api(t, op, "GET", "/api/v1/mailboxes/"+patientA+"/messages/1", "", &m)
	if m.Conformance.Status != StatusNonConforming || !reflect.DeepEqual(m.Conformance.Findings, nonConforming.Findings) {
		t.Errorf("conformance %+v", m.Conformance)
	}
	page := getPage(t, op)
	for _, want := range []string{"non conforme", "MSG-NIL-001", "erreur", "En-tête X-MSS-NIL absent", "Ref#2 v1.0.1 ECO.2.4.3", "verdict"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHTTPFindingCount: a verdict keeps its first findings; the API says
// how many there were and the page that some are not shown.
func TestHTTPFindingCount(t *testing.T) {
	op := httpOp(t)
	c := mustSMTP(t, op, doctor)
	// No X-MSS-NIL, Message-ID, Date, From; malformed In-Reply-To,
	// References, Disposition-Notification-To; X-MSS-MES not FIN.
	raw := "To: <" + patientA + ">\r\nSubject: many\r\nX-MSS-MES: OUI\r\nIn-Reply-To: bad\r\nReferences: bad\r\n" +
		"Disposition-Notification-To: nope\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
	if err := send(c, doctor, []string{patientA}, raw, nil); err != nil {
		t.Fatal(err)
	}
	var m apiMessage
	api(t, op, "GET", "/api/v1/mailboxes/"+patientA+"/messages/1", "", &m)
	if m.Conformance.Status != StatusNonConforming || len(m.Conformance.Findings) != maxVerdictFindings || m.Conformance.Count < 8 {
		t.Fatalf("conformance: status %s, %d findings, finding_count %d", m.Conformance.Status, len(m.Conformance.Findings), m.Conformance.Count)
	}
	want := fmt.Sprintf("et %d autres constats", m.Conformance.Count-maxVerdictFindings)
	if page := getPage(t, op); !strings.Contains(page, want) {
		t.Errorf("page lacks %q", want)
	}
}

var nonConforming = &Conformance{Conforms: false, Findings: []check.Finding{{
	Rule: "MSG-NIL-001", Severity: check.Error, Source: "Ref#2 v1.0.1 ECO.2.4.3",
	Message: check.Text{FR: "En-tête X-MSS-NIL absent <script>alert(1)</script>", EN: "X-MSS-NIL header missing"},
}}}

// setVerdict records a verdict for the single message in addr's INBOX, as
// the conformance check does on delivery.
func setVerdict(t *testing.T, op *Operator, addr string, c *Conformance) {
	t.Helper()
	u, _ := op.store.user(addr, false)
	info, ok, err := u.mem.Message("INBOX", 1)
	if !ok || err != nil {
		t.Fatalf("no message 1 for %s: %v", addr, err)
	}
	raw := info.Raw
	r := op.receipts.get(raw)
	if r == nil {
		t.Fatal("no receipt recorded on delivery")
	}
	cp := *r
	cp.Conformance = c
	op.receipts.add(raw, &cp)
}

func getPage(t *testing.T, op *Operator) string {
	t.Helper()
	resp, err := httpClient.Get("http://" + op.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(string(b), "<script>") {
		t.Error("page does not escape message text")
	}
	return string(b)
}

// TestOpenAPIMatchesHandlers: the document served, the copy in docs/, the
// routes and the JSON the handlers write agree.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	docs, err := os.ReadFile("../docs/mock-openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openAPIDoc) {
		t.Error("docs/mock-openapi.json differs from mocks/openapi.json (copy one onto the other)")
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage
		Comp    struct {
			Schemas map[string]struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented, routed []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	op := httpOp(t)
	for _, r := range op.routes() {
		routed = append(routed, r.method+" "+strings.TrimSuffix(r.path, "{$}"))
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("documented operations\n%q\nrouted\n%q", documented, routed)
	}
	for name, v := range map[string]any{"Message": apiMessage{}, "Envelope": apiEnvelope{}, "Conformance": apiConformance{},
		"Finding": check.Finding{}, "Event": Event{}, "Error": apiError{}} {
		s, ok := doc.Comp.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		var fields []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				fields = append(fields, tag)
			}
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(fields)
		sort.Strings(props)
		if !slices.Equal(fields, props) {
			t.Errorf("schema %s properties %q, Go type writes %q", name, props, fields)
		}
	}
	// The served document is the embedded one.
	resp, err := httpClient.Get("http://" + op.HTTPAddr() + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(served, openAPIDoc) {
		t.Error("served OpenAPI document differs")
	}
}
