package mocks

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestCloseRightAfterStart closes the operator before its serving
// goroutines may have started: Close must still stop every listener and
// return (it once blocked forever when go-smtp's Serve had not registered
// its listener yet).
func TestCloseRightAfterStart(t *testing.T) {
	for i := 0; i < 100; i++ {
		o, err := Start(context.Background(), Config{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- o.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Close did not return (iteration %d)", i)
		}
	}
}

// TestStartWithCancelledContext: a context already done closes the
// operator at once, without racing with Start (run with -race).
func TestStartWithCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o, err := Start(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", o.SMTPAddr(), time.Second); err == nil {
		t.Error("SMTP still accepting after the context was done")
	}
}
