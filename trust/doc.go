// Package trust tells the real MSSanté trust space from a test bed. It owns
// the IGC-Santé trust anchors (production and test CA certificates,
// embedded with their provenance in docs/trust.md), the ANS whitelist of
// trust-space domains (an embedded, dated snapshot and the parser for the
// published XML), the classification of an SMTP or IMAP server (chain
// anchor, SERV SSL profile, revocation by CRL or OCSP, address class, trust
// space, TLS version and cipher suite), and the identity carried by
// IGC-Santé organisation certificates (structure identifier, FINESS).
//
// It sits below probe and evidence and depends only on check. Its only
// network code fetches CRLs and OCSP answers named by a certificate, under
// the caller's context and deadline; an answer that cannot be had is
// "unknown", never "good".
//
// Rules (Ref#2 = Référentiel socle MSSanté #2 v1.0.1):
//   - Ref#2 ECO.1.1.5/1.1.6: the operator's server certificate is neither
//     expired nor revoked (CRL or OCSP);
//   - Ségur SC.MSS/CONF.01 and CONF.03: TLS 1.2 or later with allowed
//     suites; CONF.22: revocation lists; CONF.27: only IGC-Santé
//     certificates of the "Organisation" range;
//   - the ANS whitelist binds each trust-space domain to the DNs of its
//     operator's server certificates.
package trust
