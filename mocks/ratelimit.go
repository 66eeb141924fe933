package mocks

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/msscprobe/msscprobe/check"
)

// RateLimit is a token bucket on messages (one token per MAIL FROM), per
// client IP address or per authenticated account: Messages tokens every
// Per, at most Burst in reserve (default Messages). An empty bucket answers
// Code: 451 4.7.0 (try this message later, the session goes on) or 421
// 4.7.0 and the connection is closed, as providers do (research
// realservers.md; RFC 5321 §4.2.5, §3.8).
type RateLimit struct {
	Scope    string // RateClient or RateAccount
	Messages int
	Per      time.Duration
	Burst    int
	Code     int // 421 or 451 (default)
}

// Rate limit scopes.
const (
	RateClient  = "client"
	RateAccount = "account"
)

// RuleRateLimit prefixes the refusals of a rate limit.
const RuleRateLimit = "MOCK-RATE"

// ErrRateLimitSpec is wrapped by every ParseRateLimit error.
var ErrRateLimitSpec = errors.New("bad rate limit specification")

// Bounds on a rate limit specification.
const (
	maxRateSpec     = 200
	maxRateMessages = 1_000_000
	maxRatePer      = 24 * time.Hour
	// maxRateKeys bounds the buckets kept: beyond, full buckets (which
	// carry no state) are dropped, then the oldest.
	maxRateKeys = 1 << 14
)

// ParseRateLimit parses the --rate-limit syntax:
//
//	SCOPE=N/UNIT[,burst=B][,code=421|451]
//
// SCOPE is client or account, UNIT s, m or h (or a Go duration such as
// 10s): "client=5/s", "account=100/h,burst=10,code=421". Errors wrap
// ErrRateLimitSpec.
func ParseRateLimit(s string) (RateLimit, error) {
	r, err := parseRateLimit(s)
	if err != nil {
		return RateLimit{}, tagged{check.Errorf("limite de débit %q : %w", "rate limit %q: %w", s, err), ErrRateLimitSpec}
	}
	return r, nil
}

func parseRateLimit(s string) (RateLimit, error) {
	if len(s) > maxRateSpec {
		return RateLimit{}, check.Errorf("%d octets, au plus %d", "%d bytes, at most %d", len(s), maxRateSpec)
	}
	parts := strings.Split(strings.TrimSpace(s), ",")
	scope, rate, ok := strings.Cut(parts[0], "=")
	if !ok {
		return RateLimit{}, check.Errorf("PORTÉE=N/UNITÉ attendu, par exemple client=5/s", "want SCOPE=N/UNIT, e.g. client=5/s")
	}
	r := RateLimit{Scope: strings.ToLower(strings.TrimSpace(scope)), Code: 451}
	n, unit, ok := strings.Cut(rate, "/")
	if !ok {
		return RateLimit{}, check.Errorf("N/UNITÉ attendu après =, par exemple 5/s", "want N/UNIT after =, e.g. 5/s")
	}
	var err error
	if r.Messages, err = strconv.Atoi(strings.TrimSpace(n)); err != nil {
		return RateLimit{}, check.Errorf("nombre de messages %q : pas un entier", "message count %q is not an integer", n)
	}
	switch u := strings.TrimSpace(unit); u {
	case "s":
		r.Per = time.Second
	case "m":
		r.Per = time.Minute
	case "h":
		r.Per = time.Hour
	default:
		if r.Per, err = time.ParseDuration(u); err != nil {
			return RateLimit{}, check.Errorf("unité %q : s, m, h ou une durée comme 10s attendu", "unit %q: want s, m, h or a duration such as 10s", u)
		}
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "burst":
			if r.Burst, err = strconv.Atoi(v); err != nil {
				return RateLimit{}, check.Errorf("burst %q : pas un entier", "burst %q is not an integer", v)
			}
		case "code":
			if r.Code, err = strconv.Atoi(v); err != nil {
				return RateLimit{}, check.Errorf("code %q : pas un entier", "code %q is not an integer", v)
			}
		default:
			return RateLimit{}, check.Errorf("option %q inconnue (burst= ou code= attendu)", "unknown option %q (want burst= or code=)", k)
		}
	}
	if err := r.validate(); err != nil {
		return RateLimit{}, err
	}
	return r, nil
}

func (r RateLimit) validate() error {
	switch {
	case r.Scope != RateClient && r.Scope != RateAccount:
		return check.Errorf("portée %q : %s ou %s attendu", "scope %q: want %s or %s", r.Scope, RateClient, RateAccount)
	case r.Messages < 1 || r.Messages > maxRateMessages:
		return check.Errorf("%d messages : de 1 à %d attendu", "%d messages: want 1 to %d", r.Messages, maxRateMessages)
	case r.Per <= 0 || r.Per > maxRatePer:
		return check.Errorf("période %s : plus de 0 et au plus %s attendu", "period %s: want more than 0 and at most %s", r.Per, maxRatePer)
	case r.Burst < 0 || r.Burst > maxRateMessages:
		return check.Errorf("burst %d : de 0 (= le nombre de messages) à %d attendu", "burst %d: want 0 (= the message count) to %d", r.Burst, maxRateMessages)
	case r.Code != 421 && r.Code != 451:
		return check.Errorf("code %d : 421 (fermer la connexion) ou 451 (refuser ce message) attendu", "code %d: want 421 (close the connection) or 451 (refuse this message)", r.Code)
	}
	return nil
}

// String renders r in ParseRateLimit syntax.
func (r RateLimit) String() string {
	unit := r.Per.String()
	switch r.Per {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "m"
	case time.Hour:
		unit = "h"
	}
	s := fmt.Sprintf("%s=%d/%s", r.Scope, r.Messages, unit)
	if r.Burst > 0 {
		s += fmt.Sprintf(",burst=%d", r.Burst)
	}
	if r.Code != 0 && r.Code != 451 {
		s += fmt.Sprintf(",code=%d", r.Code)
	}
	return s
}

func (r RateLimit) burst() float64 {
	if r.Burst > 0 {
		return float64(r.Burst)
	}
	return float64(r.Messages)
}

type bucket struct {
	tokens float64
	last   time.Time
}

// limiters holds the rate limits and their buckets; the list may be
// replaced at run time (HTTP API), which empties the buckets.
type limiters struct {
	mu      sync.Mutex
	list    []RateLimit
	buckets []map[string]*bucket // per limit: key -> bucket
	now     func() time.Time
}

func newLimiters(list []RateLimit) (*limiters, error) {
	l := &limiters{now: time.Now}
	return l, l.set(list)
}

func (l *limiters) set(list []RateLimit) error {
	list = append([]RateLimit(nil), list...)
	for i := range list {
		if list[i].Code == 0 {
			list[i].Code = 451
		}
		if err := list[i].validate(); err != nil {
			return tagged{check.Errorf("limite de débit %s : %w", "rate limit %s: %w", list[i], err), ErrRateLimitSpec}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = list
	l.buckets = make([]map[string]*bucket, len(list))
	for i := range l.buckets {
		l.buckets[i] = map[string]*bucket{}
	}
	return nil
}

func (l *limiters) snapshot() []RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RateLimit(nil), l.list...)
}

// take spends one token of every limit that applies to this client and
// account, and returns the first limit that had none.
func (l *limiters) take(client, account string) (RateLimit, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for i, r := range l.list {
		key := client
		if r.Scope == RateAccount {
			key = account
		}
		if key == "" {
			continue
		}
		bs := l.buckets[i]
		b := bs[key]
		if b == nil {
			if len(bs) >= maxRateKeys {
				evict(bs, r, now)
			}
			b = &bucket{tokens: r.burst(), last: now}
			bs[key] = b
		}
		b.tokens = min(r.burst(), b.tokens+now.Sub(b.last).Seconds()*float64(r.Messages)/r.Per.Seconds())
		b.last = now
		if b.tokens < 1 {
			return r, true
		}
		b.tokens--
	}
	return RateLimit{}, false
}

// evict drops the buckets that are full again (a new one would be the
// same), or else the least recently used one.
func evict(bs map[string]*bucket, r RateLimit, now time.Time) {
	var oldest string
	for k, b := range bs {
		if b.tokens+now.Sub(b.last).Seconds()*float64(r.Messages)/r.Per.Seconds() >= r.burst() {
			delete(bs, k)
		} else if oldest == "" || b.last.Before(bs[oldest].last) {
			oldest = k
		}
	}
	if len(bs) >= maxRateKeys && oldest != "" {
		delete(bs, oldest)
	}
}

// rateLimited applies the rate limits at MAIL FROM; the server closes the
// connection after a 421.
func (s *smtpSession) rateLimited() error {
	host, _, err := net.SplitHostPort(s.remote)
	if err != nil {
		host = s.remote
	}
	r, limited := s.o.limits.take(host, s.user)
	if !limited {
		return nil
	}
	msg := fmt.Sprintf("[%s] rate limit %s reached, try again later", RuleRateLimit, r)
	s.event(Event{Kind: KindFault, Fault: "rate-limit " + r.String(), Code: r.Code, Rule: RuleRateLimit})
	return smtpErr(r.Code, smtp.EnhancedCode{4, 7, 0}, "%s", msg)
}
