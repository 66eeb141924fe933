package cda

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// stuckReader blocks in Read until released, like a terminal or a FIFO
// with no writer; started is closed on the first Read.
type stuckReader struct {
	started, release chan struct{}
	once             sync.Once
}

func (r *stuckReader) Read([]byte) (int, error) {
	r.once.Do(func() { close(r.started) })
	<-r.release
	return 0, errors.New("released")
}

// TestCheckCancelWhileReading: ^C while a worker is blocked reading
// standard input returns at once (it used to wait for the read for ever).
func TestCheckCancelWhileReading(t *testing.T) {
	for _, inputs := range [][]string{{"-"}, {fixtures, "-"}} {
		in := &stuckReader{started: make(chan struct{}), release: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := Check(ctx, inputs, Options{Stdin: in, Jobs: 2}, func(int) {})
			done <- err
		}()
		<-in.started
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%v: err %v, want context.Canceled", inputs, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: Check still waiting for a blocked read 10 s after cancel", inputs)
		}
		close(in.release)
	}
}

func TestJobsBounded(t *testing.T) {
	for _, tc := range []struct{ jobs, want int }{
		{0, runtime.NumCPU()},
		{-3, runtime.NumCPU()},
		{1, 1},
		{1 << 30, MaxJobs()},
	} {
		if got := (Options{Jobs: tc.jobs}).withDefaults().Jobs; got != tc.want {
			t.Errorf("Jobs %d: %d workers, want %d", tc.jobs, got, tc.want)
		}
	}
}

// TestTooLargeMessage: a file's size is known before reading; a stream is
// only known to be over the limit (it said "size: 101" for a limit of 100).
func TestTooLargeMessage(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 5000)
	for _, tc := range []struct {
		in     string
		fr, en string
	}{
		{filepath.Join(fixtures, "oversize.xml"), "6422 octets, plus que la limite de 4096 : le fichier n'est pas lu",
			"6422 bytes, more than the limit of 4096: the file is not read"},
		{"-", "plus de 4096 octets, la limite : la lecture s'arrête là et le document n'est pas vérifié",
			"more than 4096 bytes, the limit: reading stops there and the document is not checked"},
	} {
		r, err := Check(context.Background(), []string{tc.in}, Options{MaxSize: 4096, Stdin: bytes.NewReader(big)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Documents[0].Findings[0]
		if f.Rule != RuleTooLarge.ID || !strings.HasPrefix(f.Message.FR, tc.fr) || !strings.HasPrefix(f.Message.EN, tc.en) {
			t.Errorf("%s: %+v", tc.in, f)
		}
	}
}
