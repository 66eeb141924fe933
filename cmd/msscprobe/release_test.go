package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// releaseCheckEnv turns on TestReleaseSnapshot; CI (.ci/run) sets it after
// installing goreleaser, since the two builds take minutes.
const releaseCheckEnv = "MSSCPROBE_RELEASE_CHECK"

// TestReleaseSnapshot builds the release as .goreleaser.yaml describes it,
// twice, from two clones of the committed HEAD in two different folders,
// and checks the archive list, what each archive holds, the checksums
// file, the version stamped into the binary, and that both builds give the
// same checksums (reproducible build). The second build reuses the Go
// build cache of the first: the compiler is deterministic given
// -trimpath; what this catches is everything around it (dates in archives
// and the package, build IDs, paths).
func TestReleaseSnapshot(t *testing.T) {
	if os.Getenv(releaseCheckEnv) != "1" {
		t.Skipf("set %s=1 to build the release snapshot twice with goreleaser (minutes; .ci/run does)", releaseCheckEnv)
	}
	gorel := findGoreleaser(t)
	for _, tool := range []string{"git", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s=1 but %s is not installed: %v", releaseCheckEnv, tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); len(out) > 0 {
		t.Logf("uncommitted changes are not in the release build (it builds HEAD):\n%s", out)
	}
	headOut, err := exec.Command("git", "-C", root, "log", "-1", "--format=%H %cI").Output()
	if err != nil {
		t.Fatalf("git log: %v", err)
	}
	head := strings.Fields(string(headOut))
	tmp := t.TempDir()
	var sums []map[string]string
	for i, name := range []string{"first", "second"} {
		dir := filepath.Join(tmp, name)
		start := time.Now()
		gitRun(t, "", "clone", "--quiet", "--no-hardlinks", root, dir)
		// Both builds are of the commit read above, even if HEAD moves
		// during the minutes they take (a commit while the suite runs).
		gitRun(t, dir, "checkout", "--quiet", "--detach", head[0])
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		cmd := exec.CommandContext(ctx, gorel, "release", "--snapshot", "--clean")
		cmd.Dir = dir
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("goreleaser release --snapshot (%s build): %v\n%s", name, err, out)
		}
		t.Logf("%s build: %s", name, time.Since(start).Round(time.Second))
		dist := filepath.Join(dir, "dist")
		sums = append(sums, checkDist(t, dist))
		if i == 0 {
			checkArchives(t, dist)
			checkStampedVersion(t, dist, head[0], head[1])
		}
	}
	if len(sums[0]) == 0 || !maps.Equal(sums[0], sums[1]) {
		t.Errorf("two builds of commit %s differ:\nfirst:  %v\nsecond: %v", head[0], sums[0], sums[1])
	}
}

// findGoreleaser looks in PATH, then where `go install` puts it.
func findGoreleaser(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("goreleaser"); err == nil {
		return p
	}
	for _, env := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", env).Output()
		if d := strings.TrimSpace(string(out)); err == nil && d != "" {
			if env == "GOPATH" {
				d = filepath.Join(strings.Split(d, string(os.PathListSeparator))[0], "bin")
			}
			if _, err := os.Stat(filepath.Join(d, "goreleaser")); err == nil {
				return filepath.Join(d, "goreleaser")
			}
		}
	}
	t.Fatalf("%s=1 but goreleaser is not installed: go install github.com/goreleaser/goreleaser/v2@v2.15.1", releaseCheckEnv)
	return ""
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// releaseArtifacts are the files a release publishes, as patterns on their
// names (the version sits between the name and the platform).
var releaseArtifacts = []*regexp.Regexp{
	regexp.MustCompile(`^msscprobe_[^_]+_windows_amd64\.zip$`),
	regexp.MustCompile(`^msscprobe_[^_]+_linux_amd64\.tar\.gz$`),
	regexp.MustCompile(`^msscprobe_[^_]+_linux_arm64\.tar\.gz$`),
	regexp.MustCompile(`^msscprobe_[^_]+_darwin_amd64\.tar\.gz$`),
	regexp.MustCompile(`^msscprobe_[^_]+_darwin_arm64\.tar\.gz$`),
	regexp.MustCompile(`^msscprobe_[^_]+_amd64\.deb$`),
	regexp.MustCompile(`^msscprobe_[^_]+_arm64\.deb$`),
}

// checkDist checks that dist holds exactly the expected artifacts, each
// listed in checksums.txt with its real SHA-256, and returns that list.
func checkDist(t *testing.T, dist string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatalf("no checksums file: %v", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			t.Fatalf("checksums.txt line %q: want \"SHA256  NAME\"", sc.Text())
		}
		sums[fields[1]] = fields[0]
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".zip") || strings.HasSuffix(e.Name(), ".tar.gz") || strings.HasSuffix(e.Name(), ".deb")) {
			files = append(files, e.Name())
		}
	}
	for _, re := range releaseArtifacts {
		if !slices.ContainsFunc(files, re.MatchString) {
			t.Errorf("dist/ has no file matching %s (files: %v)", re, files)
		}
	}
	if len(files) != len(releaseArtifacts) || len(sums) != len(files) {
		t.Errorf("dist/ has %d archives and packages, checksums.txt %d entries, want %d each: %v", len(files), len(sums), len(releaseArtifacts), files)
	}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		if got := hex.EncodeToString(h[:]); sums[name] != got {
			t.Errorf("checksums.txt says %s for %s, the file's SHA-256 is %s", sums[name], name, got)
		}
	}
	return sums
}

// checkArchives checks what a user unpacks: the program (msscprobe.exe on
// Windows), the README and the docs with the man page; the .deb installs
// the program, the man page and the docs.
func checkArchives(t *testing.T, dist string) {
	t.Helper()
	want := []string{"README.md", "docs/msscprobe.1", "docs/probe.md", "docs/cda.md"}
	zips, _ := filepath.Glob(filepath.Join(dist, "*_windows_amd64.zip"))
	for _, z := range zips {
		r, err := zip.OpenReader(z)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range r.File {
			names = append(names, f.Name)
		}
		r.Close()
		for _, w := range append([]string{"msscprobe.exe"}, want...) {
			if !slices.Contains(names, w) {
				t.Errorf("%s lacks %s (has %v)", filepath.Base(z), w, names)
			}
		}
	}
	tars, _ := filepath.Glob(filepath.Join(dist, "*.tar.gz"))
	for _, tg := range tars {
		names := tarNames(t, tg)
		for _, w := range append([]string{"msscprobe"}, want...) {
			if !slices.Contains(names, w) {
				t.Errorf("%s lacks %s (has %v)", filepath.Base(tg), w, names)
			}
		}
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "*_amd64.deb"))
	for _, d := range debs {
		out, err := exec.Command("dpkg-deb", "--contents", d).Output()
		if err != nil {
			t.Fatalf("dpkg-deb --contents %s: %v", d, err)
		}
		for _, w := range []string{"./usr/bin/msscprobe", "./usr/share/man/man1/msscprobe.1", "./usr/share/doc/msscprobe/README.md", "./usr/share/doc/msscprobe/probe.md"} {
			if !strings.Contains(string(out), " "+w+"\n") {
				t.Errorf("%s does not install %s:\n%s", filepath.Base(d), w, out)
			}
		}
	}
}

func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		names = append(names, h.Name)
	}
}

// checkStampedVersion runs the Linux amd64 program of the archive: both
// `version` and `--version` give the snapshot version, the commit and the
// commit's date.
func checkStampedVersion(t *testing.T, dist, commit, commitDate string) {
	t.Helper()
	bins, _ := filepath.Glob(filepath.Join(dist, "msscprobe_linux_amd64*", "msscprobe"))
	if len(bins) != 1 {
		t.Fatalf("no single Linux amd64 program in %s: %v", dist, bins)
	}
	when, err := time.Parse(time.RFC3339, commitDate)
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bins[0], arg).CombinedOutput()
		if err != nil {
			t.Fatalf("msscprobe %s: %v\n%s", arg, err, out)
		}
		s := string(out)
		if !strings.Contains(s, "commit "+commit) || !strings.Contains(s, when.UTC().Format(time.RFC3339)) || !strings.Contains(s, "-dev+"+commit[:7]) {
			t.Errorf("msscprobe %s = %q, want the snapshot version, commit %s and date %s", arg, s, commit, when.UTC().Format(time.RFC3339))
		}
	}
}
