// Package fuzzci runs every fuzz target of the module for a short time, so
// that CI keeps each one compiling, seeded and briefly exercised without
// anyone listing them by hand.
//
// Its only test, TestFuzzTargets, finds every `func FuzzXxx(*testing.F)`
// in the module's test files (through `go list`, so build constraints
// apply) and runs `go test -run '^$' -fuzz '^FuzzXxx$' -fuzztime D` for
// each, one fuzzing worker at a time. It is skipped unless MSSCPROBE_FUZZTIME
// gives D (CI's .ci/run sets it); MSSCPROBE_FUZZ, a regular expression,
// picks targets by name. A longer campaign on every target:
//
//	MSSCPROBE_FUZZTIME=10m go test -v -timeout 0 -run TestFuzzTargets ./internal/fuzzci
//
// A failure names the package and target, and leaves the failing input
// under that package's testdata/fuzz/ as `go test -fuzz` does.
package fuzzci
