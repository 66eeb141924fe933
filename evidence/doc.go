// Package evidence turns a probe run into signed evidence and verifies it
// (format in docs/evidence-format.md). The deliverable an establishment
// uploads is one PDF (WriteDeliverable): the report's pages, every evidence
// file and the signed container embedded, and a PAdES signature (ETSI EN
// 319 142-1, CMS detached over a ByteRange covering the whole file) by the
// container's signer. VerifyDeliverable checks it with a bounded reader of
// its own plain form (pdfread.go) after checking the signed bytes, then
// verifies the embedded container with Verify. Verification.Headline,
// Colour and Acceptable state the outcome first: PS 4.1, environment
// (MSSanté or TEST), integrity, signer.
//
// A bundle is a ZIP laid out as an ETSI ASiC-E container with a CAdES
// signature (EN 319 162-1, EN 319 122-1): `mimetype` first and stored, the
// data files (report.pdf, results.json, junit.xml, transcripts, messages,
// TLS chains, the CDA check report), META-INF/ASiCManifest.xml holding the
// SHA-256 of every data file, and META-INF/signature.p7s, a detached CMS
// SignedData (SHA-256, signingTime, ESS signing-certificate-v2, the whole
// chain, optionally an RFC 3161 signature timestamp) over the manifest.
// `openssl cms -verify` checks the signature on its own.
//
// API:
//
//	err := evidence.WriteDeliverable(ctx, w, res, evidence.Options{Lang: check.FR, Signer: key, Chain: chain, TSAURL: url})
//	v, err := evidence.VerifyDeliverable(r, size, evidence.VerifyOptions{Roots: pool})
//	err := evidence.Write(ctx, w, res, opts)            // the bare container
//	v, err := evidence.Verify(r, size, evidence.VerifyOptions{Roots: pool})
//	v.WriteText(os.Stdout, check.FR)
//
// Write with a nil Chain signs with an ephemeral self-signed key: the
// bundle then proves integrity only, and both the report and Verify say so.
// A document with a production INS (OID .8/.9) is withheld, and its INS
// and the patient's birth names and date masked in every file, unless
// Options.IncludePersonalData.
//
// Verify returns an error only for input that is not a readable ZIP
// (VerifyDeliverable: not a PDF), or when VerifyOptions.Context ends; every
// other defect is a Problem with a stable code and French and English text,
// and Verification.Valid is false when any Problem has severity error.
// Nothing is extracted to disk; entry names, sizes and zip fields are
// checked from the central directory and the local headers before anything
// is decompressed, members are streamed through SHA-256 (only the few small
// files verify reads are kept), and CMS is read only as bounded DER
// (docs/evidence-format.md §Limits).
//
// The package owns no network code besides the small RFC 3161 client in
// tsp.go (HTTP POST with a deadline, honouring the context).
package evidence
