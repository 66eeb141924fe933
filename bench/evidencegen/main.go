// Command evidencegen is the generator and timer of bench/evidence.sh.
//
//	evidencegen -write N     times N WriteDeliverable and N Write (container
//	                         only) calls on the fixture run; prints p50/p95 ms
//	evidencegen -out DIR -n N  writes N distinct PDF deliverables to DIR
//
// The run is testdata/evidence (a met PS 4.1 run with transcripts,
// messages and a CDA document), each copy with its own token.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/probe"
)

func main() {
	out := flag.String("out", "", "folder to write deliverables to")
	n := flag.Int("n", 1000, "number of deliverables to write")
	write := flag.Int("write", 0, "time this many writes instead")
	flag.Parse()
	res, err := fixture("testdata/evidence")
	if err != nil {
		fmt.Fprintln(os.Stderr, "evidencegen:", err)
		os.Exit(2)
	}
	if *write > 0 {
		timeWrites(res, *write)
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "evidencegen: -out DIR or -write N")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "evidencegen:", err)
		os.Exit(2)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := *res
				r.Token = fmt.Sprintf("bench-%05d", i)
				r.Establishment.Name = fmt.Sprintf("Établissement de banc d'essai %05d", i)
				var b bytes.Buffer
				err := evidence.WriteDeliverable(context.Background(), &b, &r, evidence.Options{})
				if err == nil {
					err = os.WriteFile(filepath.Join(*out, fmt.Sprintf("preuve-%05d.pdf", i)), b.Bytes(), 0o644)
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := range *n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if failed != nil {
		fmt.Fprintln(os.Stderr, "evidencegen:", failed)
		os.Exit(1)
	}
}

// timeWrites prints the p50 and p95 of writing the deliverable and the
// bare container for the same run.
func timeWrites(res *probe.Result, n int) {
	for _, k := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"deliverable-pdf", func(b *bytes.Buffer) error {
			return evidence.WriteDeliverable(context.Background(), b, res, evidence.Options{})
		}},
		{"container-asice", func(b *bytes.Buffer) error { return evidence.Write(context.Background(), b, res, evidence.Options{}) }},
	} {
		var d []time.Duration
		cpu0 := cpuTime()
		for range n {
			var b bytes.Buffer
			start := time.Now()
			if err := k.write(&b); err != nil {
				fmt.Fprintln(os.Stderr, "evidencegen:", err)
				os.Exit(1)
			}
			d = append(d, time.Since(start))
		}
		cpu := (cpuTime() - cpu0) / time.Duration(n)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
		// CPU time per write is what the machine's load does not inflate.
		fmt.Printf("  %-16s wall p50 %.1f ms  p95 %.1f ms  cpu %.1f ms/write  (%d writes)\n", k.name, ms(d[len(d)/2]), ms(d[len(d)*95/100]), ms(cpu), n)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fixture reads the hand-made run of testdata/evidence.
func fixture(dir string) (*probe.Result, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	b, err := read("result.json")
	if err != nil {
		return nil, err
	}
	var res probe.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{"smtp.log", &res.SMTPTranscript}, {"imap.log", &res.IMAPTranscript}, {"sent.eml", &res.Messages[0].Raw}, {"reply.eml", &res.Messages[1].Raw}} {
		if *f.dst, err = read(f.name); err != nil {
			return nil, err
		}
	}
	doc, err := read("document.xml")
	if err != nil {
		return nil, err
	}
	res.Attachment = &probe.Attachment{Name: "document.xml", Raw: doc}
	return &res, nil
}
