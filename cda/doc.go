// Package cda checks CDA R2 documents and IHE XDM archives for a qualified
// INS (Identité Nationale de Santé), the numerator of SUN-ES indicator DS
// 4.1, and reads the header values the MSSanté probe needs.
//
// It owns the CDA/INS rules (CDA-001..004, HDR-001..003, INS-001..011,
// XDM-001..005, declared in the catalog Rules and documented in
// docs/cda.md), the matricule INS syntax and key (ParseMatricule,
// ControlKey), and the XDM reader. Research: shared/research/cda-ins.md.
//
// API:
//
//   - Check(ctx, inputs, opts, onDoc) checks files, folders (walked for
//     regular *.xml and *.zip files, case-insensitive, in lexical order) and
//     "-" (standard input), Options.Jobs at a time, and returns a Report
//     whose Documents are in input order. Its error is for usage and I/O
//     problems only and names the path; problems in documents are findings.
//     It returns as soon as ctx is done, even if a read is blocked.
//   - CheckBytes(name, data, opts) checks one CDA document or one XDM zip
//     (told apart by content) held in memory, e.g. a message attachment.
//   - Report.Passed(production) is the exit-0 verdict of `cda check`;
//     Document.Passed the same for one document.
//   - Document.Meta carries the header values for XDM METADATA.XML and the
//     MSSanté subject; MSSHeaders(docs) gives X-MSS-CODECDA and X-MSS-INS.
//   - ReadXDM(data, opts) reads an XDM archive's METADATA.XML files
//     (any subset folder, URI slot or ExtrinsicObject id) without checking
//     the documents; ParsePatientID splits <matricule>^^^&<OID>&ISO^NH.
//   - CheckXDM(name, data, opts) is CheckBytes on an XDM zip that also
//     returns the metadata, each DocumentEntry with its hash, size,
//     typeCode, confidentiality and sourcePatient slots and the SHA-1 and
//     size of its member (package message compares them).
//
// Parsing: a single-pass scanner (scan.go) checks well-formedness of the
// whole document and refuses any DTD before anything else runs, so no
// entity is ever expanded; etree (beevik/etree) then parses only the
// ClinicalDocument children the rules read (only the root start tag when
// there is no ClinicalDocument). A document lists at most 20 findings of
// one rule. Elements are matched by
// namespace URI urn:hl7-org:v3, never by prefix. Inputs are never read
// beyond Options.MaxSize+1 bytes, and unsafe archives are refused from
// their central directory, before anything is decompressed.
package cda
