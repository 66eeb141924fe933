package mocks

import (
	"context"
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
