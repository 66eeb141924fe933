package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// realmailScript starts, stops and describes the real Postfix + Dovecot
// instance (docs/realmail.md).
const realmailScript = "../../testdata/realmail/realmail.sh"

// realMail is a running instance, described by `realmail.sh env`.
type realMail struct {
	env map[string]string
}

// realmailSettings are the REALMAIL_* variables of this test run's script
// calls: the caller's environment, plus a port base whose five ports are
// free when the caller did not choose one, so that a program already
// listening on the default ports (10025…) does not fail the test.
var realmailSettings []string

// pickRealMailPorts chooses REALMAIL_PORT_BASE unless it is set: the first
// base from 20000 on (step 1000, as the script allows up to 64000) whose
// ports BASE+25, +143, +465, +587 and +993 all accept a listener on
// 127.0.0.1 now.
func pickRealMailPorts(t *testing.T) {
	t.Helper()
	if os.Getenv("REALMAIL_PORT_BASE") != "" {
		realmailSettings = nil
		return
	}
	for base := 20000; base <= 64000; base += 1000 {
		if portsFree(base+25, base+143, base+465, base+587, base+993) {
			realmailSettings = []string{"REALMAIL_PORT_BASE=" + strconv.Itoa(base)}
			return
		}
	}
	t.Fatal("no free port base for the real mail servers from 20000 to 64000")
}

func portsFree(ports ...int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// realMailMissing says why the real servers cannot run here, or "".
func realMailMissing() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	for _, bin := range []string{"postfix", "dovecot"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := os.Stat("/usr/sbin/" + bin); err != nil {
				return bin + " is not installed"
			}
		}
	}
	return ""
}

// startRealMail returns the running instance, starting it when needed and
// then stopping it when the test ends; an instance already running (started
// by hand with the same REALMAIL_* settings) is reused and left running.
func startRealMail(t *testing.T) *realMail {
	t.Helper()
	if why := realMailMissing(); why != "" {
		if os.Getenv("MSSCPROBE_REQUIRE_REALMAIL") == "1" {
			t.Fatalf("MSSCPROBE_REQUIRE_REALMAIL=1 but the real mail servers cannot run: %s", why)
		}
		t.Skipf("real mail servers unavailable (%s); as root on Debian, run testdata/realmail/realmail.sh start (installs and starts Postfix and Dovecot on loopback), then rerun", why)
	}
	lockRealMail(t)
	if os.Getenv("REALMAIL_PORT_BASE") == "" && func() bool { _, err := realmailRun(t, "status"); return err == nil }() {
		// An instance on the default ports, started by hand: reuse it.
		realmailSettings = nil
	} else {
		pickRealMailPorts(t)
	}
	if out, err := realmailRun(t, "status"); err == nil {
		t.Logf("reusing the running realmail instance:\n%s", out)
	} else {
		if out, err := realmailRun(t, "start"); err != nil {
			t.Fatalf("realmail.sh start: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			if out, err := realmailRun(t, "stop"); err != nil {
				t.Errorf("realmail.sh stop: %v\n%s", err, out)
			}
			// Exit status 3: neither server runs any more.
			var ee *exec.ExitError
			if out, err := realmailRun(t, "status"); !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Errorf("realmail.sh status after stop: %v, want exit status 3\n%s", err, out)
			}
		})
		// A rerun must find the instance and leave it alone.
		if out, err := realmailRun(t, "start"); err != nil || !bytes.Contains(out, []byte("already running")) {
			t.Fatalf("realmail.sh start, second time: %v, want \"already running\"\n%s", err, out)
		}
	}
	out, err := realmailRun(t, "env")
	if err != nil {
		t.Fatalf("realmail.sh env: %v\n%s", err, out)
	}
	rm := &realMail{env: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// export NAME=VALUE; realmail.sh only allows values that need no quoting.
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			rm.env[k] = v
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			rm.dumpLogs(t)
		}
	})
	// Team rule: tests talk only to 127.0.0.1 or ::1 (REALMAIL_HOST=127.0.0.2
	// is for trying Dovecot's Internet-like behaviour by hand).
	if h := rm.get(t, "REALMAIL_HOST"); h != "127.0.0.1" {
		t.Fatalf("REALMAIL_HOST=%s: tests talk only to 127.0.0.1; unset it", h)
	}
	return rm
}

// lockRealMail serialises the test runs of this machine (several `go test`
// may run at once in a shared work tree): one run's cleanup would otherwise
// stop the servers under another's feet. The lock goes with the process.
func lockRealMail(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "msscprobe-realmail-test.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("another test run held %s for 3 minutes", f.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() })
}

// realmailRun runs the script with a deadline (a first start installs
// packages). Daemons it starts must not hold our pipes (research
// realservers.md gotcha 2); WaitDelay bounds the wait if one ever does.
func realmailRun(t *testing.T, arg string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", realmailScript, arg)
	cmd.Env = append(os.Environ(), realmailSettings...)
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

func (rm *realMail) get(t *testing.T, key string) string {
	t.Helper()
	v := rm.env[key]
	if v == "" {
		t.Fatalf("realmail.sh env does not set %s", key)
	}
	return v
}

func (rm *realMail) port(t *testing.T, key string) int {
	t.Helper()
	p, err := strconv.Atoi(rm.get(t, key))
	if err != nil {
		t.Fatalf("realmail.sh env: %s: %v", key, err)
	}
	return p
}

// dumpLogs prints the end of the servers' logs, to see why a run failed.
func (rm *realMail) dumpLogs(t *testing.T) {
	for _, key := range []string{"REALMAIL_POSTFIX_LOG", "REALMAIL_DOVECOT_LOG"} {
		data, err := os.ReadFile(rm.env[key])
		if err != nil {
			t.Logf("%s: %v", key, err)
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 80 {
			lines = lines[len(lines)-80:]
		}
		t.Logf("last lines of %s:\n%s", rm.env[key], strings.Join(lines, "\n"))
	}
}
