package probe

// Template is the annotated configuration `msscprobe init` writes. It
// loads as is; every key is documented in docs/probe.md.
const Template = `# msscprobe probe configuration (SUN-ES prerequisite PS 4.1).
# Run: msscprobe probe --config probe.yaml
# Secrets are never written here: give the NAME of an environment variable
# (*_env) or the path of a file (*_file) that holds them.
# Relative paths are relative to this file.

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
