package probe

import (
	"slices"
	"strings"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/trust"
)

// Source references cited by the rules (research mssante.md, tools.md).
const (
	srcRef2TLS    = "Ref#2 v1.0.1 ECO.1.1.5/1.1.6; Ségur SC.MSS/CONF.01, CONF.05, CONF.06"
	srcStartTLS   = "RFC 3207; RFC 3501 §6.2.1; Ségur SC.MSS/CONF.05-06 (STARTTLS)"
	srcAuth       = "RFC 4954; Ségur SC.MSS/CONF.07 (TLS first, then SASL)"
	srcSubmit     = "RFC 5321; RFC 6409"
	srcNIL        = "Ref#2 v1.0.1 ECO.2.4.3 (X-MSS-NIL on every mail); RFC 5322"
	srcXDM        = "Ref#2 v1.0.1 ECO.2.1.2/2.1.3, ECO.2.4.1/2.4.2; IHE ITI-32 (XDM)"
	srcDSN        = "RFC 3461 (DSN NOTIFY); RFC 3464; RFC 8098 (MDN)"
	srcCorrelate  = "RFC 5322 §3.6.4 (In-Reply-To, References)"
	srcPS41       = "SUN-ES volet 2, prérequis PS 4.1"
	srcTrustSpace = "MSSanté liste blanche: patient.mssante.fr (research mssante.md §1)"
	srcIMAP       = "RFC 9051; RFC 2177 (IDLE)"
	srcIdleDrop   = "RFC 9051 §5.4 (autologout timer); RFC 2177 (IDLE)"
	srcOwn        = "msscprobe"
	srcSMTPLimits = "RFC 5321 §4.5.3.1.5 (reply line 512 octets); msscprobe limits (docs/probe.md)"
	srcIMAPLimits = "RFC 9051 §4.3 (literals); MSSanté 25 MB message cap; msscprobe limits (docs/probe.md)"
	srcTestINS    = "RGPD art. 5 (minimisation); INS: OID .8/.9 are real patients, .10/.11 test identities (research cda-ins.md)"
	srcEnv        = "Ségur SC.MSS/CONF.27; Ref#2 v1.0.1 ECO.1.1.5/1.1.6; ANS liste blanche (patient.mssante.fr)"
)

// Rule IDs. They never change meaning; consumers (evidence reports, editors'
// CI) match on them.
const (
	RuleMessage    = "MSG-001"
	RuleAttachment = "MSG-002"
	RuleINS        = "MSG-003"

	RuleSMTPDNS        = "SMTP-DNS-001"
	RuleSMTPTCP        = "SMTP-TCP-001"
	RuleSMTPStartTLS   = "SMTP-TLS-001"
	RuleSMTPTLSVersion = "SMTP-TLS-002"
	RuleSMTPChain      = "SMTP-TLS-003"
	RuleSMTPExpiry     = "SMTP-TLS-004"
	RuleSMTPCleartext  = "SMTP-TLS-005"
	RuleSMTPAuthMech   = "SMTP-AUTH-001"
	RuleSMTPAuth       = "SMTP-AUTH-002"
	RuleSMTPMail       = "SMTP-SUB-001"
	RuleSMTPRcpt       = "SMTP-SUB-002"
	RuleSMTPData       = "SMTP-SUB-003"
	RuleSMTPDSN        = "SMTP-SUB-004"
	RuleSMTPLimits     = "SMTP-LIM-001"

	RuleIMAPDNS        = "IMAP-DNS-001"
	RuleIMAPTCP        = "IMAP-TCP-001"
	RuleIMAPStartTLS   = "IMAP-TLS-001"
	RuleIMAPTLSVersion = "IMAP-TLS-002"
	RuleIMAPChain      = "IMAP-TLS-003"
	RuleIMAPExpiry     = "IMAP-TLS-004"
	RuleIMAPAuthMech   = "IMAP-AUTH-001"
	RuleIMAPAuth       = "IMAP-AUTH-002"
	RuleIMAPInbox      = "IMAP-BOX-001"
	RuleIMAPIdle       = "IMAP-IDLE-001"
	RuleIMAPReconnect  = "IMAP-IDLE-002"
	RuleIMAPLimits     = "IMAP-LIM-001"

	RuleReply       = "RCV-001"
	RuleCorrelation = "RCV-002"
	RuleReplyDomain = "RCV-003"
	RuleNoBounce    = "RCV-004"
	RuleReports     = "RCV-005"

	RuleCitizenReceived = "MBX-001"
	RuleCitizenReplied  = "MBX-002"

	RuleNotRun  = "RUN-001"
	RuleVerdict = "PS41-001"

	// RuleTestMailboxINS: no real patient's document to the shared
	// auto-reply test mailbox.
	RuleTestMailboxINS = "MSG-004"
	// RuleEnvironment: the run reached the real MSSanté trust space.
	RuleEnvironment = "ENV-001"
)

// Rules is the catalog of every check the probe makes.
var Rules = check.NewCatalog(slices.Concat(
	connectionRules("SMTP", smtpRules, RuleSMTPAuthMech, RuleSMTPAuth),
	connectionRules("IMAP", imapRules, RuleIMAPAuthMech, RuleIMAPAuth),
	trust.ServerRules("SMTP"),
	trust.ServerRules("IMAP"),
	[]check.Rule{
		rule(RuleMessage, check.Error, srcNIL,
			"Message de test construit (From, To, Date, Message-ID, jeton dans l'objet, X-MSS-NIL)",
			"Test message built (From, To, Date, Message-ID, token in subject, X-MSS-NIL)"),
		rule(RuleAttachment, check.Error, srcXDM,
			"Pièce jointe IHE_XDM.ZIP conforme (INDEX.HTM, README.TXT, METADATA.XML, CDA)",
			"IHE_XDM.ZIP attachment is well formed (INDEX.HTM, README.TXT, METADATA.XML, CDA)"),
		rule(RuleINS, check.Warning, srcXDM,
			"Le document joint porte un INS qualifié (X-MSS-INS: O)",
			"The attached document carries a qualified INS (X-MSS-INS: O)"),

		rule(RuleSMTPCleartext, check.Warning, srcStartTLS,
			"Le serveur SMTP refuse MAIL FROM avant STARTTLS", "The SMTP server refuses MAIL FROM before STARTTLS"),
		rule(RuleSMTPMail, check.Error, srcSubmit, "MAIL FROM accepté", "MAIL FROM accepted"),
		rule(RuleSMTPRcpt, check.Error, srcSubmit, "RCPT TO (adresse citoyenne) accepté", "RCPT TO (citizen address) accepted"),
		rule(RuleSMTPData, check.Error, srcSubmit, "Message accepté (DATA), identifiant de file relevé",
			"Message accepted (DATA), queue id recorded"),
		rule(RuleSMTPDSN, check.Info, srcDSN, "Accusé de réception (DSN NOTIFY) demandé", "Delivery receipt (DSN NOTIFY) requested"),

		rule(RuleSMTPLimits, check.Error, srcSMTPLimits,
			"Les réponses du serveur SMTP restent dans les limites de la sonde (ligne, réponse, octets par étape)",
			"The SMTP server's replies stay within the probe's limits (line, reply, bytes per step)"),
		rule(RuleIMAPLimits, check.Error, srcIMAPLimits,
			"Les réponses du serveur IMAP restent dans les limites de la sonde (ligne, réponse, littéral, octets par étape)",
			"The IMAP server's responses stay within the probe's limits (line, response, literal, bytes per step)"),
		rule(RuleIMAPInbox, check.Error, srcIMAP, "Boîte INBOX ouverte", "INBOX selected"),
		rule(RuleIMAPIdle, check.Warning, srcIMAP,
			"Le serveur IMAP propose IDLE (sinon la réponse est cherchée par interrogation périodique)",
			"The IMAP server offers IDLE (otherwise the reply is polled for)"),
		rule(RuleIMAPReconnect, check.Warning, srcIdleDrop,
			"La connexion IMAP tient pendant l'attente (sinon une reconnexion est faite)",
			"The IMAP connection holds while waiting (otherwise the probe reconnects once)"),

		rule(RuleReply, check.Error, srcPS41, "Réponse reçue dans le délai", "Reply received in time"),
		rule(RuleCorrelation, check.Warning, srcCorrelate,
			"Réponse liée au message envoyé par In-Reply-To/References",
			"Reply linked to the sent message by In-Reply-To/References"),
		rule(RuleReplyDomain, check.Error, srcTrustSpace,
			"Réponse venant du domaine de l'adresse citoyenne", "Reply comes from the citizen address's domain"),
		rule(RuleNoBounce, check.Error, srcDSN,
			"Aucun avis de non-remise (DSN d'échec, « Undelivered Mail »)", "No non-delivery report (failed DSN, \"Undelivered Mail\")"),
		rule(RuleReports, check.Info, srcDSN, "Accusés reçus (DSN, MDN)", "Acknowledgements received (DSN, MDN)"),

		rule(RuleCitizenReceived, check.Error, srcPS41,
			"Le message de test est arrivé dans la boîte citoyenne", "The test message reached the citizen mailbox"),
		rule(RuleCitizenReplied, check.Error, srcPS41,
			"Réponse envoyée depuis la boîte citoyenne", "Reply sent from the citizen mailbox"),

		rule(RuleTestMailboxINS, check.Warning, srcTestINS,
			"Aucun document à INS de production (patient réel) vers la boîte de réponse automatique de test",
			"No document with a production INS (a real patient) to the auto-reply test mailbox"),
		rule(RuleEnvironment, check.Warning, srcEnv,
			"Environnement MSSanté réel : serveurs IGC-Santé production (SERV SSL) sur adresses publiques, réponse de patient.mssante.fr",
			"Real MSSanté environment: IGC-Santé production servers (SERV SSL) on public addresses, reply from patient.mssante.fr"),
		rule(RuleNotRun, check.Info, srcOwn, "Étape non exécutée", "Step not run"),
		rule(RuleVerdict, check.Error, srcPS41,
			"PS 4.1 : envoi accepté et réponse corrélée reçue", "PS 4.1: message accepted and correlated reply received"),
	},
)...)

// connectionRules declares the connection and login checks, the same for
// SMTP and IMAP.
func connectionRules(p string, r protoRules, authMech, auth string) []check.Rule {
	f := func(sev check.Severity, id, src, fr, en string) check.Rule {
		return rule(id, sev, src, strings.ReplaceAll(fr, "%s", p), strings.ReplaceAll(en, "%s", p))
	}
	return []check.Rule{
		f(check.Error, r.dns, srcOwn, "Le nom du serveur %s se résout", "The %s host name resolves"),
		f(check.Error, r.tcp, srcOwn, "Connexion TCP et accueil du serveur %s", "TCP connection and %s server greeting"),
		f(check.Error, r.startTLS, srcStartTLS,
			"TLS établi avant toute autre commande %s (STARTTLS proposé ou TLS implicite)",
			"TLS established before any other %s command (STARTTLS offered, or implicit TLS)"),
		f(check.Error, r.version, srcRef2TLS, "%s : TLS 1.2 ou plus", "%s: TLS 1.2 or later"),
		f(check.Error, r.chain, srcRef2TLS,
			"%s : certificat valide pour le nom du serveur et les autorités de confiance",
			"%s: certificate valid for the server name and the trusted roots"),
		f(check.Warning, r.exp, srcRef2TLS,
			"%s : certificat valable encore au moins 30 jours", "%s: certificate valid for at least 30 more days"),
		f(check.Error, authMech, srcAuth,
			"Le serveur %s propose le mécanisme d'authentification configuré",
			"The %s server offers the configured authentication mechanism"),
		f(check.Error, auth, srcAuth, "Authentification %s acceptée", "%s authentication accepted"),
	}
}

func rule(id string, sev check.Severity, src, fr, en string) check.Rule {
	return check.Rule{ID: id, Severity: sev, Title: check.Text{FR: fr, EN: en}, Source: src}
}
