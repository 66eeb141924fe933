#!/usr/bin/env bash
# realmail.sh: real Postfix + Dovecot, on loopback only, for msscprobe's
# integration tests (docs/realmail.md; facts and gotchas from research
# realservers.md).
#
#   realmail.sh install  install the missing Debian packages, start nothing
#   realmail.sh start    install what is missing, configure, start, wait
#   realmail.sh stop     stop the servers this instance started
#   realmail.sh status   exit 0 when every service answers, 3 when stopped
#   realmail.sh env      print shell exports for tests (no secrets: paths)
#   realmail.sh selftest round trip with swaks and curl in both TLS modes
#
# Settings (environment):
#   REALMAIL_DIR        instance directory        (/tmp/msscprobe-realmail)
#   REALMAIL_HOST       IPv4 loopback to listen on (127.0.0.1); 127.0.0.2
#                       makes Dovecot behave as on the Internet (gotcha 1)
#   REALMAIL_PORT_BASE  ports are BASE+25, +587, +465, +143, +993 (10000)
#   REALMAIL_IPV6=1     also listen on [::1]
#   REALMAIL_EXTRA_ACCOUNTS=N  also N load-test mailboxes bench01..benchNN
#                       @hopital.realmail.test (0; at most 999), listed
#                       with their passwords in a root-only file (env:
#                       REALMAIL_EXTRA_ACCOUNTS_FILE) for bench/mock.sh
#
# Needs root (apt, Postfix, Dovecot); no systemd needed. Never touches
# /etc/postfix or /etc/dovecot, never binds anything but loopback, never
# sends mail anywhere but to its own two domains.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly DIR=${REALMAIL_DIR:-/tmp/msscprobe-realmail}
readonly HOST=${REALMAIL_HOST:-127.0.0.1}
readonly BASE=${REALMAIL_PORT_BASE:-10000}
readonly IPV6=${REALMAIL_IPV6:-0}
readonly EXTRA=${REALMAIL_EXTRA_ACCOUNTS:-0}

T0=$(date +%s%N)
log() { printf 'realmail: [%5d ms] %s\n' $((($(date +%s%N) - T0) / 1000000)) "$*" >&2; }
die() {
	printf 'realmail: error: %s\n' "$*" >&2
	exit 1
}

validate() {
	[[ $DIR == /* && $DIR != */ && $DIR =~ ^[A-Za-z0-9/._-]+$ ]] ||
		die "REALMAIL_DIR=$DIR must be an absolute path of letters, digits and /._-"
	[[ $HOST =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
		die "REALMAIL_HOST=$HOST must be an IPv4 loopback address (127.x.y.z)"
	if ! [[ $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE > 64000)); then
		die "REALMAIL_PORT_BASE=$BASE must be a number from 1024 to 64000"
	fi
	[[ $IPV6 == 0 || $IPV6 == 1 ]] || die "REALMAIL_IPV6=$IPV6 must be 0 or 1"
	[[ $EXTRA =~ ^(0|[1-9][0-9]{0,2})$ ]] || die "REALMAIL_EXTRA_ACCOUNTS=$EXTRA must be a number from 0 to 999"
}

validate

readonly SMTP_PORT=$((BASE + 25)) SUBMISSION_PORT=$((BASE + 587)) SUBMISSIONS_PORT=$((BASE + 465))
readonly IMAP_PORT=$((BASE + 143)) IMAPS_PORT=$((BASE + 993))

readonly ETAB_DOMAIN=hopital.realmail.test CITIZEN_DOMAIN=patient.realmail.test
# The citizen addresses are 15-character INS matricules with a valid key,
# like <INS>@patient.mssante.fr (research mssante.md §1); they come from ANS
# examples. The first answers every message (Pigeonhole vacation); the
# second never does, for the probe's "mailbox" reply mode.
readonly PROBE_ADDR=probe@$ETAB_DOMAIN
readonly CITIZEN_ADDR=279035121518989@$CITIZEN_DOMAIN
readonly REPLIER_ADDR=146026322000196@$CITIZEN_DOMAIN

readonly PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve swaks libnet-ssleay-perl openssl curl)
readonly POSTFIX_MASTER=/usr/lib/postfix/sbin/master DOVECOT=/usr/sbin/dovecot
readonly WAIT_SECONDS=30

need_root() { ((EUID == 0)) || die "must run as root (installs packages, starts Postfix and Dovecot)"; }

# install_missing installs only the packages that are not installed yet: a
# full install also upgrades curl/openssl and costs a minute (realservers.md).
install_missing() {
	local p missing=() installed
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
	for p in "${PACKAGES[@]}"; do
		grep -qx "$p install ok installed" <<<"$installed" || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return
	log "installing ${missing[*]}"
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
	# Without systemd, a package's postinst starts its daemon through
	# invoke-rc.d unless policy-rc.d forbids it: a system Dovecot would then
	# listen on every interface. Forbid it for the time of the install.
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# msscprobe realmail.sh: no daemon starts during install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
	fi
	local rc=0
	{
		DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				-o Dpkg::Options::=--force-confold "${missing[@]}"
	} >"$DIR/log/apt.log" 2>&1 || rc=$?
	((made_policy)) && rm -f "$policy"
	if ((rc != 0)); then
		tail -n 30 "$DIR/log/apt.log" >&2
		die "apt-get failed (exit $rc), full log in $DIR/log/apt.log"
	fi
	log "installed"
}

# ---------------------------------------------------------------- TLS

make_tls() {
	local t=$DIR/tls want="DNS:mail.realmail.test,DNS:localhost,IP:127.0.0.1,IP:::1"
	[[ $HOST == 127.0.0.1 ]] || want+=",IP:$HOST"
	# Reuse the certificates while they match the host and stay valid for
	# more than 31 days (the probe warns under 30).
	if [[ -s $t/server.pem && -s $t/ca.pem && -s $t/server.key && "$(cat "$t/san" 2>/dev/null)" == "$want" ]] &&
		openssl x509 -checkend $((31 * 86400)) -noout -in "$t/server.pem" >/dev/null 2>&1; then
		return
	fi
	log "making test CA and server certificate"
	mkdir -p "$t"
	(
		umask 077
		cd "$t"
		openssl req -x509 -newkey rsa:2048 -nodes -days 365 -keyout ca.key -out ca.pem \
			-subj '/O=msscprobe test/CN=msscprobe realmail test CA' \
			-addext 'basicConstraints=critical,CA:TRUE' \
			-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
		openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
			-subj '/O=msscprobe test/CN=mail.realmail.test' 2>/dev/null
		printf '%s\n' "subjectAltName=$want" 'basicConstraints=critical,CA:FALSE' \
			'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
			'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
			-days 90 -extfile server.ext -out server.pem 2>/dev/null
		rm -f server.csr server.ext
		chmod 644 ca.pem server.pem
		printf '%s' "$want" >san
	)
}

# ------------------------------------------------------------- accounts

# make_secret writes a random password to $DIR/secrets/NAME.password (no
# newline, root only) once; tests read the file, never argv.
make_secret() {
	local f=$DIR/secrets/$1.password
	[[ -s $f ]] && return
	(umask 077 && openssl rand -hex 16 | tr -d '\n' >"$f")
}

# extra_accounts prints "name address" for the REALMAIL_EXTRA_ACCOUNTS
# load-test mailboxes: bench01..benchNN (three digits from 100 on).
extra_accounts() {
	local i width=2
	((EXTRA >= 100)) && width=3
	for ((i = 1; i <= EXTRA; i++)); do
		printf 'bench%0*d bench%0*d@%s\n' "$width" "$i" "$width" "$i" "$ETAB_DOMAIN"
	done
}

make_accounts() {
	mkdir -p "$DIR/secrets" "$DIR/dovecot"
	chmod 700 "$DIR/secrets"
	local accounts=("probe $PROBE_ADDR" "citizen $CITIZEN_ADDR" "replier $REPLIER_ADDR") users=$DIR/dovecot/users addr name line
	if ((EXTRA > 0)); then
		mapfile -t -O 3 accounts < <(extra_accounts)
	fi
	for line in "${accounts[@]}"; do
		make_secret "${line%% *}"
	done
	# Load tools read the extra mailboxes as "address password" lines.
	rm -f "$DIR/secrets/extra-accounts"
	if ((EXTRA > 0)); then
		(
			umask 077
			for line in "${accounts[@]:3}"; do
				read -r name addr <<<"$line"
				printf '%s %s\n' "$addr" "$(<"$DIR/secrets/$name.password")"
			done >"$DIR/secrets/extra-accounts"
		)
	fi
	: >"$users.new"
	for line in "${accounts[@]}"; do
		read -r name addr <<<"$line"
		# openssl reads the password on stdin, not argv.
		printf '%s:{SHA512-CRYPT}%s::::::\n' "$addr" \
			"$(openssl passwd -6 -stdin <"$DIR/secrets/$name.password")" >>"$users.new"
	done
	chown root:dovecot "$users.new"
	chmod 640 "$users.new"
	mv "$users.new" "$users"
	# Postfix: virtual recipients, and which login owns which sender address.
	for line in "${accounts[@]}"; do
		printf '%s %s\n' "${line#* }" "${line#* }"
	done >"$DIR/postfix/vmailbox"
	backdate "$DIR/postfix/vmailbox"

	local home
	for line in "${accounts[@]}"; do
		addr=${line#* }
		home=$DIR/mail/${addr#*@}/${addr%@*}
		mkdir -p "$home/Maildir"
	done
	install -m 644 "$HERE/citizen.sieve" "$DIR/mail/$CITIZEN_DOMAIN/${CITIZEN_ADDR%@*}/.dovecot.sieve"
	chown -R mail:mail "$DIR/mail"
	chmod 700 "$DIR/mail/$ETAB_DOMAIN" "$DIR/mail/$CITIZEN_DOMAIN"
}

# ------------------------------------------------------------ configs

# subst TEXT replaces the @NAME@ markers shared by every template.
subst() {
	local c=$1 listen=$HOST inet_if=127.0.0.1 inet_proto=ipv4
	if ((IPV6)); then
		listen+=", ::1"
		inet_if+=", [::1]"
		inet_proto=all
	fi
	c=${c//@DIR@/$DIR}
	c=${c//@HOST@/$HOST}
	c=${c//@LISTEN@/$listen}
	c=${c//@INET_INTERFACES@/$inet_if}
	c=${c//@INET_PROTOCOLS@/$inet_proto}
	c=${c//@SMTP_PORT@/$SMTP_PORT}
	c=${c//@SUBMISSION_PORT@/$SUBMISSION_PORT}
	c=${c//@SUBMISSIONS_PORT@/$SUBMISSIONS_PORT}
	c=${c//@IMAP_PORT@/$IMAP_PORT}
	c=${c//@IMAPS_PORT@/$IMAPS_PORT}
	c=${c//@ETAB_DOMAIN@/$ETAB_DOMAIN}
	c=${c//@CITIZEN_DOMAIN@/$CITIZEN_DOMAIN}
	printf '%s' "$c"
}

# render TEMPLATE OUT writes a template with its markers substituted. In
# master.cf.in, the listener section is repeated for each address.
render() {
	local tmpl=$1 out=$2 c head section tail addr addrs=("$HOST")
	((IPV6)) && addrs+=('[::1]')
	c=$(<"$tmpl")
	if [[ $c == *'# -- listeners --'* ]]; then
		head=${c%%'# -- listeners --'*}
		section=${c#*'# -- listeners --'}
		tail=${section#*'# -- end of listeners --'}
		section=${section%%'# -- end of listeners --'*}
		c=$head
		for addr in "${addrs[@]}"; do
			c+=${section//@ADDR@/$addr}
		done
		c+=$tail
	fi
	c=$(subst "$c")
	[[ ! $c =~ @[A-Z_]+@ ]] || die "unsubstituted marker ${BASH_REMATCH[0]} in $tmpl"
	printf '%s\n' "$c" >"$out"
	backdate "$out"
}

# backdate FILE sets its mtime 10 s back: Postfix rereads a file modified in
# the current second, up to 4 times 300 ms, to be sure it is not being
# edited (measured: 1.2 s per command and per daemon on each start).
backdate() { touch -d "@$(($(date +%s) - 10))" "$@"; }

configure() {
	mkdir -p "$DIR/postfix" "$DIR/dovecot" "$DIR/spool" "$DIR/lib" "$DIR/log" "$DIR/run" "$DIR/state/dovecot"
	chmod 755 "$DIR" "$DIR/run" "$DIR/log"
	chown postfix:postfix "$DIR/lib" # data_directory (gotcha 6)
	render "$HERE/main.cf.in" "$DIR/postfix/main.cf"
	render "$HERE/master.cf.in" "$DIR/postfix/master.cf"
	render "$HERE/dovecot.conf.in" "$DIR/dovecot/dovecot.conf"
	make_accounts
}

# ------------------------------------------------------- process control

# proc_state PID prints the state letter of a process (R, S, Z, ...).
proc_state() {
	local stat
	stat=$(cat 2>/dev/null "/proc/$1/stat") || return 1
	stat=${stat##*) }
	printf '%s' "${stat%% *}"
}

# owned_pid NAME prints the PID of this instance's Postfix or Dovecot master
# when it runs. Ownership is checked before anything is signalled: the PID
# file is ours, the PID runs the expected binary, and that binary was
# started with this instance's configuration (gotcha 10).
owned_pid() {
	local pidfile exe marker file pid state
	case $1 in
	postfix) pidfile=$DIR/spool/pid/master.pid exe=$POSTFIX_MASTER file=environ marker="MAIL_CONFIG=$DIR/postfix" ;;
	dovecot) pidfile=$DIR/run/dovecot/master.pid exe=$DOVECOT file=cmdline marker="$DIR/dovecot/dovecot.conf" ;;
	esac
	pid=$(tr -dc 0-9 2>/dev/null <"$pidfile") || return 1
	[[ -n $pid ]] || return 1
	state=$(proc_state "$pid") || return 1
	[[ $state != Z ]] || return 1 # PID 1 may reap late: a zombie is gone
	[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$exe" ]] || return 1
	tr '\0' '\n' 2>/dev/null <"/proc/$pid/$file" | grep -qxF -- "$marker" || return 1
	printf '%s' "$pid"
}

# listening PORT succeeds while something listens on the TCP port (read from
# /proc, so it makes no connection).
listening() {
	local hex
	hex=$(printf '%04X' "$1")
	grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# greets PORT PREFIX succeeds when a plain-text server on HOST:PORT sends a
# greeting starting with PREFIX within 3 s.
greets() {
	# shellcheck disable=SC2016 # the inner script expands its own arguments
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && IFS= read -r line <&3 && [[ $line == "$3"* ]]' _ "$HOST" "$1" "$2" 2>/dev/null
}

# tls_ok PORT succeeds when HOST:PORT completes a TLS handshake whose chain
# verifies against the test CA.
tls_ok() {
	timeout 5 openssl s_client -connect "$HOST:$1" -CAfile "$DIR/tls/ca.pem" -verify_return_error \
		-verify_ip "$HOST" -brief </dev/null >/dev/null 2>&1
}

all_ports() { echo "$SMTP_PORT $SUBMISSION_PORT $SUBMISSIONS_PORT $IMAP_PORT $IMAPS_PORT"; }

# ready succeeds when every service answers (greeting or TLS handshake).
ready() {
	greets "$SMTP_PORT" 220 && greets "$SUBMISSION_PORT" 220 && tls_ok "$SUBMISSIONS_PORT" &&
		greets "$IMAP_PORT" '* OK' && tls_ok "$IMAPS_PORT" && [[ -S $DIR/run/dovecot/lmtp ]]
}

start_dovecot() {
	[[ -n $(owned_pid dovecot) ]] && return
	log "starting Dovecot"
	# Daemons keep every inherited descriptor open (gotcha 2): give them
	# files, never the caller's pipes, or a caller waiting for EOF hangs.
	"$DOVECOT" -c "$DIR/dovecot/dovecot.conf" </dev/null >>"$DIR/log/dovecot.start.log" 2>&1 || {
		tail -n 20 "$DIR/log/dovecot.start.log" "$DIR/log/dovecot.log" >&2 2>/dev/null
		die "Dovecot did not start"
	}
}

start_postfix() {
	[[ -n $(owned_pid postfix) ]] && return
	log "starting Postfix"
	local out=$DIR/log/postfix.start.log
	# "postfix start" first creates the missing queue directories and checks
	# every file's owner (seconds on a busy machine). Once the queue exists,
	# quick-start skips that; master -w still reports configuration errors.
	[[ -d $DIR/spool/maildrop ]] && touch "$DIR/spool/quick-start"
	# Postfix prints its fatal errors only to a terminal while postlogd is
	# not running (gotcha 3): run it under script(1) for a pty.
	if ! script -qec "postfix -c '$DIR/postfix' start" /dev/null </dev/null >>"$out" 2>&1 ||
		grep -q 'fatal' "$out"; then
		tail -n 20 "$out" "$DIR/log/postfix.log" >&2 2>/dev/null
		die "Postfix did not start"
	fi
}

# wait_until SECONDS WHAT CMD... polls CMD every 100 ms for at most SECONDS.
wait_until() {
	local limit=$(($(date +%s) + $1)) what=$2
	shift 2
	until "$@"; do
		(($(date +%s) < limit)) || return 1
		sleep 0.1
	done
	log "$what"
}

# settings names what a running instance was started with; extra= only when
# set, so instances started without it keep their settings line.
settings() {
	local s="host=$HOST base=$BASE ipv6=$IPV6"
	((EXTRA == 0)) || s+=" extra=$EXTRA"
	echo "$s"
}

cmd_start() {
	need_root
	mkdir -p "$DIR/log"
	install_missing
	if [[ -n $(owned_pid postfix) || -n $(owned_pid dovecot) ]]; then
		if [[ $(cat "$DIR/settings" 2>/dev/null) == "$(settings)" ]] && ready; then
			log "already running in $DIR"
			return
		fi
		log "restarting: the running instance is incomplete or has other settings"
		cmd_stop
	fi
	local p
	for p in $(all_ports); do
		! listening "$p" || die "port $p is already in use by another program (set REALMAIL_PORT_BASE)"
	done
	make_tls
	configure
	settings >"$DIR/settings"
	start_dovecot
	start_postfix
	if ! wait_until "$WAIT_SECONDS" "all services answer" ready; then
		tail -n 30 "$DIR/log/postfix.log" "$DIR/log/dovecot.log" >&2 2>/dev/null || true
		die "services did not answer within ${WAIT_SECONDS}s; logs in $DIR/log"
	fi
	log "running in $DIR (\"$0 env\" prints the settings)"
}

stopped() { [[ -z $(owned_pid "$1") ]]; }

ports_free() {
	local p
	for p; do ! listening "$p" || return 1; done
}

# stop_one NAME stops one master, then waits until it is gone.
stop_one() {
	local pid
	pid=$(owned_pid "$1") || return 0
	log "stopping $1 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until 10 "$1 stopped" stopped "$1"; then
		kill -KILL "$pid" 2>/dev/null || true
		log "$1 killed"
	fi
}

cmd_stop() {
	need_root
	stop_one postfix
	stop_one dovecot
	# The masters' children exit on their own; the ports are free once they
	# have. Use the ports of the settings the instance was started with.
	local base=$BASE s
	s=$(cat "$DIR/settings" 2>/dev/null) && [[ $s =~ base=([0-9]+) ]] && base=${BASH_REMATCH[1]}
	local ports=($((base + 25)) $((base + 587)) $((base + 465)) $((base + 143)) $((base + 993)))
	wait_until 10 "ports free" ports_free "${ports[@]}" || log "warning: a port of ${ports[*]} is still in use"
}

cmd_status() {
	local pf dc
	pf=$(owned_pid postfix) || true
	dc=$(owned_pid dovecot) || true
	echo "instance: $DIR ($(cat "$DIR/settings" 2>/dev/null || echo 'never started'))"
	echo "postfix:  ${pf:+running, pid }${pf:-stopped}"
	echo "dovecot:  ${dc:+running, pid }${dc:-stopped}"
	if [[ -z $pf && -z $dc ]]; then
		return 3
	fi
	if [[ -n $pf && -n $dc ]] && ready; then
		echo "services: all answer"
		return 0
	fi
	echo "services: not all answer"
	return 1
}

cmd_env() {
	local k v
	while IFS='=' read -r k v; do
		printf 'export %s=%q\n' "$k" "$v"
	done <<EOV
REALMAIL_DIR=$DIR
REALMAIL_HOST=$HOST
REALMAIL_SMTP_PORT=$SMTP_PORT
REALMAIL_SUBMISSION_PORT=$SUBMISSION_PORT
REALMAIL_SUBMISSIONS_PORT=$SUBMISSIONS_PORT
REALMAIL_IMAP_PORT=$IMAP_PORT
REALMAIL_IMAPS_PORT=$IMAPS_PORT
REALMAIL_CA_CERT=$DIR/tls/ca.pem
REALMAIL_ETAB_DOMAIN=$ETAB_DOMAIN
REALMAIL_CITIZEN_DOMAIN=$CITIZEN_DOMAIN
REALMAIL_PROBE_ADDRESS=$PROBE_ADDR
REALMAIL_PROBE_PASSWORD_FILE=$DIR/secrets/probe.password
REALMAIL_CITIZEN_ADDRESS=$CITIZEN_ADDR
REALMAIL_CITIZEN_PASSWORD_FILE=$DIR/secrets/citizen.password
REALMAIL_REPLIER_ADDRESS=$REPLIER_ADDR
REALMAIL_REPLIER_PASSWORD_FILE=$DIR/secrets/replier.password
REALMAIL_POSTFIX_LOG=$DIR/log/postfix.log
REALMAIL_DOVECOT_LOG=$DIR/log/dovecot.log
EOV
	((EXTRA == 0)) || printf 'export REALMAIL_EXTRA_ACCOUNTS_FILE=%q\n' "$DIR/secrets/extra-accounts"
}

# imap_search URL QUERY prints the UIDs that an IMAP SEARCH finds in the
# probe mailbox. The login goes to curl on stdin (-K -), never in argv.
imap_search() {
	printf 'user = "%s:%s"\n' "$PROBE_ADDR" "$(<"$DIR/secrets/probe.password")" |
		curl -sS -K - --max-time 5 --ssl-reqd --cacert "$DIR/tls/ca.pem" "$1/INBOX?${2// /%20}" |
		tr -d '\r' | sed -n 's/^\* SEARCH *//p'
}

reply_seen() { [[ -n $(imap_search "$1" "HEADER In-Reply-To $2") ]]; }

# cmd_selftest submits to the auto-responding citizen with swaks (STARTTLS
# and implicit TLS) and waits, with curl over IMAP (STARTTLS and implicit
# TLS), for the vacation reply naming the message in In-Reply-To.
cmd_selftest() {
	ready || die "not running; run: $0 start"
	local mode port tls url token
	for mode in starttls implicit; do
		case $mode in
		starttls) port=$SUBMISSION_PORT tls=--tls url=imap://$HOST:$IMAP_PORT ;;
		implicit) port=$SUBMISSIONS_PORT tls=--tlsc url=imaps://$HOST:$IMAPS_PORT ;;
		esac
		token=selftest-$mode-$(date +%s%N)
		# swaks reads SWAKS_OPT_* from the environment: the password stays
		# out of argv.
		SWAKS_OPT_auth_password=$(<"$DIR/secrets/probe.password") \
			swaks --server "$HOST" --port "$port" "$tls" --tls-verify --tls-ca-path "$DIR/tls/ca.pem" \
			--auth PLAIN --auth-user "$PROBE_ADDR" --from "$PROBE_ADDR" --to "$CITIZEN_ADDR" \
			--header "Subject: realmail selftest $token" --header "Message-Id: <$token@$ETAB_DOMAIN>" \
			--body "msscprobe realmail selftest ($mode)" >"$DIR/log/selftest-$mode.log" 2>&1 ||
			die "$mode: swaks failed, see $DIR/log/selftest-$mode.log"
		wait_until 15 "$mode: submitted on port $port, auto-reply (In-Reply-To) read over $url" \
			reply_seen "$url" "$token" ||
			die "$mode: no auto-reply naming <$token@$ETAB_DOMAIN> within 15 s; logs in $DIR/log"
	done
}

case ${1:-} in
install)
	need_root
	mkdir -p "$DIR/log"
	install_missing
	;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
selftest) cmd_selftest ;;
*)
	echo "usage: $0 install|start|stop|status|env|selftest" >&2
	exit 2
	;;
esac
