package trust

import "github.com/msscprobe/msscprobe/check"

// Sources of the server classification rules: bare references, since they
// are printed as they are in French and English reports. CONF.27 admits
// IGC-Santé certificates only; ECO.1.1.5/1.1.6 ask for certificates neither
// expired nor revoked (CRL or OCSP); a real operator is reached over a
// public address; the whitelist pairs a domain with DNCertificatOperateur;
// CONF.01 asks for TLS ≥ 1.2 and CONF.03 for allowed suites (ANSSI-PA-035:
// AEAD, ECDHE).
const (
	SrcAnchor     = "Ségur SC.MSS/CONF.27; Ref#2 v1.0 ECO.1.1.10"
	SrcServSSL    = "IGC-Santé PC SERV SSL (1.2.250.1.213.1.7.1.1.2.5.1); Ségur SC.MSS/CONF.27"
	SrcRevocation = "Ref#2 v1.0.1 ECO.1.1.5/1.1.6; Ségur SC.MSS/CONF.22"
	SrcAddress    = "msscprobe"
	SrcTrustSpace = "ANS liste blanche MSSanté"
	SrcTLS        = "Ségur SC.MSS/CONF.01, CONF.03; ANSSI-PA-035"
)

// Rule number suffixes; the IDs are "<PROTO>-TRUST-00n" (ServerRules).
const (
	ruleAnchor     = "-TRUST-001"
	ruleServSSL    = "-TRUST-002"
	ruleRevocation = "-TRUST-003"
	ruleAddress    = "-TRUST-004"
	ruleTrustSpace = "-TRUST-005"
	ruleTLS        = "-TRUST-006"
)

// RuleID returns the ID of a classification rule for proto ("SMTP" or
// "IMAP"); n is 1 to 6 in the order of ServerRules.
func RuleID(proto string, n int) string {
	return proto + []string{ruleAnchor, ruleServSSL, ruleRevocation, ruleAddress, ruleTrustSpace, ruleTLS}[n-1]
}

// ServerRules declares the classification rules of one protocol. Only a
// revoked certificate is an error: the rest say what the run proves (the
// real trust space or a test bed), not whether the round trip works.
func ServerRules(proto string) []check.Rule {
	r := func(suffix string, sev check.Severity, src, fr, en string) check.Rule {
		return check.Rule{ID: proto + suffix, Severity: sev, Source: src, Title: check.Text{FR: proto + " : " + fr, EN: proto + ": " + en}}
	}
	return []check.Rule{
		r(ruleAnchor, check.Warning, SrcAnchor, "certificat rattaché à l'IGC-Santé de production", "certificate chains to IGC-Santé production"),
		r(ruleServSSL, check.Warning, SrcServSSL, "certificat au profil SERV SSL (politique, usages, nom DNS du serveur)",
			"certificate has the SERV SSL profile (policy, key usages, the server's DNS name)"),
		r(ruleRevocation, check.Error, SrcRevocation, "certificat non révoqué (LCR ou OCSP)", "certificate not revoked (CRL or OCSP)"),
		r(ruleAddress, check.Warning, SrcAddress, "serveur joint à une adresse publique", "server reached at a public address"),
		r(ruleTrustSpace, check.Warning, SrcTrustSpace, "domaine de l'établissement dans la liste blanche, certificat de l'opérateur listé",
			"establishment's domain in the whitelist, operator certificate listed"),
		r(ruleTLS, check.Warning, SrcTLS, "TLS 1.2 ou plus avec une suite AEAD à échange ECDHE", "TLS 1.2 or later with an ECDHE AEAD suite"),
	}
}
