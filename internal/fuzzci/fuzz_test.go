package fuzzci

import (
	"bufio"
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// target is one fuzz function of one package.
type target struct {
	pkg, dir, name string
}

// findTargets lists the module's fuzz targets: every top-level
// FuzzXxx(f *testing.F) in the test files `go list` selects.
func findTargets(t *testing.T, goCmd string) []target {
	t.Helper()
	cmd := exec.Command(goCmd, "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .TestGoFiles \" \"}} {{join .XTestGoFiles \" \"}}", "github.com/msscprobe/msscprobe/...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var targets []target
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 3)
		if len(parts) != 3 {
			continue
		}
		for _, file := range strings.Fields(parts[2]) {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(parts[1], file), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, d := range f.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && isFuzzTarget(fn) {
					targets = append(targets, target{pkg: parts[0], dir: parts[1], name: fn.Name.Name})
				}
			}
		}
	}
	return targets
}

// isFuzzTarget is the rule of `go test`: a function FuzzXxx with one
// parameter of type *testing.F and no receiver.
func isFuzzTarget(fn *ast.FuncDecl) bool {
	name := fn.Name.Name
	if fn.Recv != nil || !strings.HasPrefix(name, "Fuzz") || len(name) > 4 && name[4] >= 'a' && name[4] <= 'z' {
		return false
	}
	params := fn.Type.Params.List
	if len(params) != 1 || len(params[0].Names) > 1 {
		return false
	}
	star, ok := params[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "F"
}

func TestFuzzTargets(t *testing.T) {
	fuzztime := os.Getenv("MSSCPROBE_FUZZTIME")
	if fuzztime == "" {
		t.Skip("set MSSCPROBE_FUZZTIME (e.g. 3s) to run every fuzz target briefly; CI does")
	}
	perTarget, err := time.ParseDuration(fuzztime)
	if err != nil || perTarget <= 0 {
		t.Fatalf("MSSCPROBE_FUZZTIME=%q: want a duration such as 3s or 10m", fuzztime)
	}
	only := regexp.MustCompile("")
	if expr := os.Getenv("MSSCPROBE_FUZZ"); expr != "" {
		if only, err = regexp.Compile(expr); err != nil {
			t.Fatalf("MSSCPROBE_FUZZ=%q: %v", expr, err)
		}
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run the fuzz targets: %v", err)
	}
	targets := findTargets(t, goCmd)
	if len(targets) == 0 {
		t.Fatal("no fuzz target found in the module")
	}
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-10*time.Second))
		defer cancel()
	}
	ran := 0
	for _, tg := range targets {
		if !only.MatchString(tg.name) {
			continue
		}
		ran++
		t.Run(strings.TrimPrefix(tg.pkg, "github.com/msscprobe/msscprobe/")+"."+tg.name, func(t *testing.T) {
			if ctx.Err() != nil {
				t.Fatalf("not run: the test deadline is near (run with -timeout 0 for a long campaign)")
			}
			start := time.Now()
			run := func() ([]byte, error) {
				cmd := exec.CommandContext(ctx, goCmd, "test", "-run", "^$", "-fuzz", "^"+tg.name+"$",
					"-fuzztime", perTarget.String(), "-fuzzminimizetime", "10s", "-parallel", "1", ".")
				cmd.Dir = tg.dir
				return cmd.CombinedOutput()
			}
			out, err := run()
			if err != nil && lostWorker(out) {
				// On a loaded machine the coordinator may take a slow worker
				// for a hung one; no input failed, so run once more.
				t.Logf("%s: fuzzing worker lost without a failing input, running again:\n%s", tg.name, tail(out))
				out, err = run()
			}
			if err != nil {
				t.Fatalf("go test -fuzz %s in %s: %v\n%s", tg.name, tg.pkg, err, out)
			}
			t.Logf("%s: %v", tg.name, time.Since(start).Round(time.Second))
		})
	}
	if ran == 0 {
		t.Fatalf("MSSCPROBE_FUZZ=%q matches no fuzz target", os.Getenv("MSSCPROBE_FUZZ"))
	}
}

// lostWorker tells a worker the coordinator gave up on (killed by the
// system or taken for hung) from a failure: a failing input is always
// written under testdata/fuzz and said so.
func lostWorker(out []byte) bool {
	return bytes.Contains(out, []byte("fuzzing process hung or terminated unexpectedly")) &&
		!bytes.Contains(out, []byte("Failing input written to"))
}

// tail is the end of a command's output, for a log line.
func tail(out []byte) []byte {
	if len(out) > 2000 {
		return out[len(out)-2000:]
	}
	return out
}
