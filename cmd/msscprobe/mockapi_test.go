package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMockServeHTTPAPI: --listen-http, rate limits and selected faults from
// flags and YAML reach the running mock, as its HTTP API reports them.
func TestMockServeHTTPAPI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mock.yaml")
	os.WriteFile(cfg, []byte("listen_http: 127.0.0.1:0\nrate_limits: [\"account=100/h,burst=10\"]\nfaults: [\"rcpt=550,to=279035121518989@patient.mssante.fr\"]\n"), 0o600)
	out, _ := serveMock(t, "--config", cfg, "--rate-limit", "client=5/s,code=421", "--fault", "mail=451#1,from=medecin@hopital.test.mssante.fr")
	s := out.String()
	for _, want := range []string{"rate-limit account=100/h,burst=10", "rate-limit client=5/s,code=421",
		"fault rcpt=550,to=279035121518989@patient.mssante.fr", "fault mail=451#1,from=medecin@hopital.test.mssante.fr"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	m := regexp.MustCompile(`listen http\s+(127\.0\.0\.1:\d+) `).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no HTTP listener printed:\n%s", s)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	var faults struct {
		Faults []struct{ Spec string }
	}
	var limits struct {
		RateLimits []string `json:"rate_limits"`
	}
	for path, v := range map[string]any{"/api/v1/faults": &faults, "/api/v1/rate-limits": &limits} {
		resp, err := c.Get("http://" + m[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(v)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
	}
	if len(faults.Faults) != 2 || faults.Faults[0].Spec != "rcpt=550,to=279035121518989@patient.mssante.fr" {
		t.Errorf("faults over HTTP: %+v", faults)
	}
	if strings.Join(limits.RateLimits, " ") != "account=100/h,burst=10 client=5/s,code=421" {
		t.Errorf("rate limits over HTTP: %+v", limits)
	}
}
