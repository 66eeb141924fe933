package mocks

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The stand-in TSA speaks real RFC 3161: OpenSSL makes the query and
// verifies the reply against the TSA's root.
func TestTSAWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tsa, err := StartTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, query, reply, root := filepath.Join(dir, "data"), filepath.Join(dir, "q.tsq"), filepath.Join(dir, "r.tsr"), filepath.Join(dir, "root.pem")
	for name, b := range map[string][]byte{data: []byte("signature bytes"), root: tsa.RootPEM} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
	post := func() *http.Response {
		q, err := os.ReadFile(query)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tsa.URL, bytes.NewReader(q))
		req.Header.Set("Content-Type", "application/timestamp-query")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err := os.WriteFile(reply, body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run("ts", "-verify", "-data", data, "-in", reply, "-CAfile", root); !strings.Contains(out, "OK") {
		t.Errorf("openssl ts -verify: %s", out)
	}
	if out := run("ts", "-reply", "-in", reply, "-text"); !strings.Contains(out, "Status: Granted") {
		t.Errorf("reply text: %s", out)
	}

	tsa.Refuse.Store(true)
	resp = post()
	body.Reset()
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	os.WriteFile(reply, body.Bytes(), 0o600)
	if out := run("ts", "-reply", "-in", reply, "-text"); !strings.Contains(out, "Rejected") {
		t.Errorf("refusal: %s", out)
	}
	if tsa.Requests.Load() != 2 {
		t.Errorf("requests = %d", tsa.Requests.Load())
	}
}
