// Package message checks Internet messages bound for MSSanté (to a citizen
// on patient.mssante.fr or to a professional) against the rules of the
// Référentiel socle MSSanté #2 v1.0.1, the CI-SIS IHE_XDM.ZIP rules, the
// French XDS metadata and the patient-visibility rules (research
// message-rules.md, mssante.md). It is the one place those message rules
// live: `msscprobe message check` and the mock operator's conformance
// verdict both call it, and package probe builds messages that pass it.
//
// It owns the rules MSS-001..MSS-030 (catalog Rules, documented in
// docs/message.md) and reuses package cda for everything inside a CDA
// document or an XDM archive (CDA-*, HDR-*, INS-*, XDM-* findings are
// reported as cda gives them, located by archive member).
//
// API:
//
//   - CheckBytes(name, raw, opts) checks one message held in memory and
//     returns its Result (findings, CDA documents, verdict Passed).
//     Options.Recipients gives the envelope recipients when known (the mock).
//   - Check(ctx, inputs, opts, onMsg) reads .eml files, mbox files, folders
//     and "-" (standard input), Options.Jobs messages at a time, and returns
//     a Report in input order. Its error is for unreadable inputs only.
//   - WriteText, WriteJSON and JUnit render results (one JUnit test case per
//     message).
//   - Parse is the bounded MIME parser; CheckCitizenAddress, ParseMsgIDs,
//     MsgIDs and ClosesReplies are the address and threading helpers the
//     mock shares.
//
// Bounds: a message over Options.MaxSize (64 MiB) is not parsed; a header
// block over MaxHeaderBytes, more than MaxParts parts or more than MaxDepth
// nested multiparts stop the walk with ErrHeaderTooLarge, ErrTooManyParts
// or ErrTooDeep (reported as MSS-001). Multipart bodies are split without
// copying, so nesting costs no memory; only leaf parts are decoded.
package message
