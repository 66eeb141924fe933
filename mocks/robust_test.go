package mocks

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSilentClientsAreCut: a client that connects and never speaks (or
// never starts its TLS handshake) must not hold a connection forever.
func TestSilentClientsAreCut(t *testing.T) {
	defer func(s, h time.Duration) { smtpReadTimeout, handshakeTimeout = s, h }(smtpReadTimeout, handshakeTimeout)
	smtpReadTimeout, handshakeTimeout = 300*time.Millisecond, 300*time.Millisecond
	op := startOp(t, testConfig())
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"smtp", op.SMTPAddr(), "421 4.4.2"},
		{"smtps no handshake", op.SMTPSAddr(), ""},
		{"imaps no handshake", op.IMAPSAddr(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var got strings.Builder
			br := bufio.NewReader(c)
			for {
				l, err := br.ReadString('\n')
				got.WriteString(l)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatalf("connection still open after 10 s (read %q)", got.String())
					}
					break
				}
			}
			if !strings.Contains(got.String(), tc.want) {
				t.Errorf("server said %q, want %q before closing", got.String(), tc.want)
			}
		})
	}
}
