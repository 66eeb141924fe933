package probe

import "github.com/msscprobe/msscprobe/check"

// TemplateIn is the annotated configuration `msscprobe init` writes, with
// its comments in lang. Both load as is and differ only in comments (and
// the establishment's example name); every key is documented in
// docs/probe.md.
func TemplateIn(lang check.Lang) string {
	if lang == check.EN {
		return Template
	}
	return TemplateFR
}

// TemplateFR is the configuration template commented in French, the
// default language of the CLI.
const TemplateFR = `# Configuration de la sonde msscprobe (prérequis SUN-ES PS 4.1).
# Lancement : msscprobe probe --config probe.yaml
# Aucun secret n'est écrit ici : donnez le NOM d'une variable d'environnement
# (*_env) ou le chemin d'un fichier (*_file) qui le contient.
# Les chemins relatifs partent du dossier de ce fichier. Chemins Windows :
# entre apostrophes ('C:\dossier\ca.pem') ou avec des barres obliques
# (C:/dossier/ca.pem), jamais entre guillemets avec des barres inverses.
# Enregistrez ce fichier en UTF-8.

establishment:
  name: "Hôpital de test"                    # nom affiché dans les rapports
  finess: "000000000"                        # 9 caractères, facultatif
  address: probe@hopital.test.mssante.fr     # boîte de l'établissement (MAIL FROM, From:)

# Serveur de soumission de votre opérateur MSSanté. tls : starttls (par
# défaut, port 587) ou implicit (port 465). Jamais de texte en clair.
smtp:
  host: smtp.hopital.test.mssante.fr
  port: 587
  tls: starttls
  # server_name: smtp.operateur.fr           # nom du certificat, si host est une adresse IP ou un alias

# Serveur de la boîte où arrive la réponse. tls : starttls (par défaut,
# port 143) ou implicit (port 993).
imap:
  host: imap.hopital.test.mssante.fr
  port: 143
  tls: starttls

# mechanism : plain | login | xoauth2 | certificate
#   plain, login : username + password_env (ou password_file)
#   xoauth2 :      username + token_env (ou token_file, ou token_cmd : une commande qui affiche un jeton frais) : jeton d'accès Pro Santé Connect
#   certificate :  cert_file + key_file (PEM), ou p12_file + p12_password_env
#                  (ou p12_password_file) : certificat d'organisation IGC Santé
auth:
  mechanism: plain
  username: probe@hopital.test.mssante.fr
  password_env: MSSCPROBE_PASSWORD

# Les certificats des serveurs doivent se rattacher aux racines IGC-Santé
# intégrées ou aux racines du système. ca_file ajoute des racines (une AC
# privée ou de test, classée « privée » : l'exécution est alors TEST) ;
# décommentez pour en ajouter une :
# trust:
#   ca_file: ca.pem

# L'adresse citoyenne destinataire. Par défaut : la boîte de réponse
# automatique de test de Mon espace santé.
target: reponse.automatique-test@patient.mssante.fr

# Document CDA facultatif (empaqueté en IHE_XDM.ZIP) ou IHE_XDM.ZIP existant :
# attach: document.xml

message:
  nil: "msscprobe"        # X-MSS-NIL : la référence de votre produit sur convergence.esante.gouv.fr
  mdn: false              # true : demander un accusé de lecture (Disposition-Notification-To)

# mode : auto    attendre la réponse automatique de la cible
#        manual  vous demande de répondre vous-même depuis la boîte citoyenne, et attend
#        mailbox la sonde se connecte à une boîte citoyenne de test et répond
#                depuis celle-ci ; target est alors cette boîte et
#                reply.mailbox donne ses serveurs et son authentification :
#   mailbox:
#     smtp: {host: smtp.patient.test, port: 587, tls: starttls}
#     imap: {host: imap.patient.test, port: 143, tls: starttls}
#     auth: {mechanism: plain, username: 279035121518989@patient.mssante.fr, password_env: CITIZEN_PASSWORD}
reply:
  mode: auto

timeouts:
  step: 30s     # chaque étape réseau (connexion, authentification, chaque commande)
  reply: 5m     # attente de la réponse
`

// Template is the configuration template commented in English.
const Template = `# msscprobe probe configuration (SUN-ES prerequisite PS 4.1).
# Run: msscprobe probe --config probe.yaml
# Secrets are never written here: give the NAME of an environment variable
# (*_env) or the path of a file (*_file) that holds them.
# Relative paths are relative to this file. Windows paths: in single
# quotes ('C:\folder\ca.pem') or with forward slashes (C:/folder/ca.pem),
# never in double quotes with backslashes. Save this file as UTF-8.

establishment:
  name: "Hôpital de test"                    # shown in reports
  finess: "000000000"                        # 9 characters, optional
  address: probe@hopital.test.mssante.fr     # the establishment mailbox (MAIL FROM, From:)

# Submission server of your MSSanté operator. tls: starttls (default, port
# 587) or implicit (port 465). Plaintext is never allowed.
smtp:
  host: smtp.hopital.test.mssante.fr
  port: 587
  tls: starttls
  # server_name: smtp.operateur.fr           # certificate name, when host is an IP or an alias

# Mailbox server where the reply arrives. tls: starttls (default, port 143)
# or implicit (port 993).
imap:
  host: imap.hopital.test.mssante.fr
  port: 143
  tls: starttls

# mechanism: plain | login | xoauth2 | certificate
#   plain, login: username + password_env (or password_file)
#   xoauth2:      username + token_env (or token_file, or token_cmd: a command printing a fresh token): Pro Santé Connect access token
#   certificate:  cert_file + key_file (PEM), or p12_file + p12_password_env
#                 (or p12_password_file): IGC Santé organisation certificate
auth:
  mechanism: plain
  username: probe@hopital.test.mssante.fr
  password_env: MSSCPROBE_PASSWORD

# The servers' certificates must chain to the built-in IGC-Santé roots or
# the system roots. ca_file adds roots (a private or test CA, classified
# "private": the run then reads TEST); uncomment to trust one:
# trust:
#   ca_file: ca.pem

# The citizen address written to. Default: the auto-reply test mailbox of
# Mon espace santé.
target: reponse.automatique-test@patient.mssante.fr

# Optional CDA document (packaged as IHE_XDM.ZIP) or existing IHE_XDM.ZIP:
# attach: document.xml

message:
  nil: "msscprobe"        # X-MSS-NIL: your product reference on convergence.esante.gouv.fr
  mdn: false              # true: ask for a read receipt (Disposition-Notification-To)

# mode: auto    wait for the automatic reply of the target
#       manual  tells you to reply from the citizen mailbox yourself, and waits
#       mailbox the probe logs into a citizen test mailbox and replies from it;
#               then target is that mailbox and reply.mailbox gives its
#               servers and login:
#   mailbox:
#     smtp: {host: smtp.patient.test, port: 587, tls: starttls}
#     imap: {host: imap.patient.test, port: 143, tls: starttls}
#     auth: {mechanism: plain, username: 279035121518989@patient.mssante.fr, password_env: CITIZEN_PASSWORD}
reply:
  mode: auto

timeouts:
  step: 30s     # each network step (connection, login, each command)
  reply: 5m     # waiting for the reply
`
