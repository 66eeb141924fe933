// Package check holds the vocabulary shared by every checker in msscprobe:
// rules with stable IDs, severities, findings carrying French and English
// messages, and the JUnit XML rendering used by both `cda check` and `probe`.
//
// It owns no rule itself: package cda declares the CDA/INS rules, package
// probe the PS 4.1 round-trip checks. Keeping results as plain data here lets
// every renderer (text, JSON, JUnit, PDF) work from the same structs.
package check
