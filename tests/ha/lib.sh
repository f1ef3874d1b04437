# The HA test bed: one etcd and three PostgreSQL nodes under Patroni, all on
# 127.0.0.1 on ports picked free at run time, data under $HA_DIR. Sourced by
# run.sh. Every process it starts is the leader of a session of its own
# (setsid), and teardown ends those sessions by id: nothing is left behind.
set -uo pipefail
HA_NODES=${HA_NODES:-3}
HA_PGBIN=$(${PG_CONFIG:-pg_config} --bindir)
HA_DIR=${DURABLE_RUN_BASE:-/tmp}/ha-$$
HA_SCOPE=durable-ha-$$
HA_SESSIONS=()          # session ids (= pids) of etcd and each Patroni we started
HA_MOUNTS=()            # durablefs mounts to unmount

# Postgres refuses root: as root, everything of the test bed runs as postgres
AS_PG=()
[ "$(id -u)" -eq 0 ] && AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
as_pg() { "${AS_PG[@]}" "$@"; }
log() { echo "$(date +%T) $*"; }

# free_ports N: N distinct TCP ports that are free on 127.0.0.1 right now
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# spawn LOG CMD...: CMD in a session of its own; prints its pid (the session id)
spawn() {
	local logf=$1; shift
	setsid "$@" >>"$logf" 2>&1 </dev/null &
	echo $!
}

ha_setup() {
	read -r ETCD_PORT ETCD_PEER_PORT <<<"$(free_ports 2)"
	local ports; ports=($(free_ports $((2 * HA_NODES))))
	mkdir -p "$HA_DIR"
	chmod 755 "$HA_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$HA_DIR"
	ETCD_PID=$(spawn "$HA_DIR/etcd.log" "${AS_PG[@]}" etcd --name ha --data-dir "$HA_DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "ha=http://127.0.0.1:$ETCD_PEER_PORT" --enable-v2=false)
	HA_SESSIONS+=("$ETCD_PID")
	local i
	PG_PORTS=(); REST_PORTS=()
	for ((i = 1; i <= HA_NODES; i++)); do
		REST_PORTS[i]=${ports[$((2 * i - 2))]}
		PG_PORTS[i]=${ports[$((2 * i - 1))]}
		local d=$HA_DIR/node$i
		as_pg mkdir -p "$d"
		sed -e "s|@SCOPE@|$HA_SCOPE|; s|@NODE@|node$i|; s|@REST_PORT@|${REST_PORTS[i]}|g" \
		    -e "s|@ETCD_PORT@|$ETCD_PORT|; s|@PG_PORT@|${PG_PORTS[i]}|g; s|@DATA_DIR@|$d/data|" \
		    -e "s|@BIN_DIR@|$HA_PGBIN|; s|@NODE_DIR@|$d|g" "$(dirname "${BASH_SOURCE[0]}")/patroni.yml.in" |
			as_pg tee "$d/patroni.yml" >/dev/null
	done
	HA_DSN="host=$(printf '127.0.0.1,%.0s' $(seq "$HA_NODES") | sed 's/,$//') port=$(IFS=,; echo "${PG_PORTS[*]:1}") user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=2"
	export HA_DSN
	wait_until 60 "etcd answers" etcdctl --endpoints "127.0.0.1:$ETCD_PORT" endpoint health || return 1
	# the first node bootstraps alone, so that it is the one that runs initdb
	node_start 1
	wait_until 120 "node1 leads" leader_is_writable || return 1
	psql_leader -c "CREATE EXTENSION durable" >/dev/null || return 1
	for ((i = 2; i <= HA_NODES; i++)); do node_start "$i"; done
	wait_until 180 "every node streams and one is synchronous" cluster_complete || return 1
}

node_start() {
	local i=$1
	NODE_PID[i]=$(spawn "$HA_DIR/node$i/patroni.log" "${AS_PG[@]}" env HOME="$HA_DIR/node$i" PATRONI_LOG_LEVEL=WARNING \
		patroni "$HA_DIR/node$i/patroni.yml")
	HA_SESSIONS+=("${NODE_PID[i]}")
}

# patroni_pid I / postmaster_pid I: the live pids of node I, or nothing
patroni_pid() { [ -n "${NODE_PID[$1]:-}" ] && kill -0 "${NODE_PID[$1]}" 2>/dev/null && echo "${NODE_PID[$1]}"; }
postmaster_pid() {
	local p; p=$(head -n1 "$HA_DIR/node$1/data/postmaster.pid" 2>/dev/null) || return 0
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
	return 0
}

patronictl_() { patronictl -c "$HA_DIR/node1/patroni.yml" "$@"; }

# The members, one a line: name|role|state (role Leader, Sync Standby, Replica)
members() { patronictl_ list -f json 2>/dev/null | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    print("|".join((m["Member"], m["Role"], m["State"])))'; }

leader_node() { members | awk -F'|' '$2 == "Leader" && $3 == "running" {sub("node", "", $1); print $1}'; }

# every node runs (or streams), one leads, one is its synchronous standby
cluster_complete() {
	local m; m=$(members)
	[ "$(grep -c '|Leader|running$' <<<"$m")" -eq 1 ] &&
	[ "$(grep -cE '\|Sync Standby\|(running|streaming)$' <<<"$m")" -ge 1 ] &&
	[ "$(grep -cE '\|(running|streaming)$' <<<"$m")" -eq "$HA_NODES" ]
}

psql_leader() { psql "$HA_DSN" -qXAt -v ON_ERROR_STOP=1 "$@"; }
leader_is_writable() { [ "$(psql_leader -c "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" = t ]; }

# wait_until SECONDS WHAT CMD...: until CMD succeeds; a generous guard that
# turns a hang into a failure, never a timing assertion
wait_until() {
	local limit=$1 what=$2; shift 2
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then log "gave up waiting ($limit s): $what"; return 1; fi
		sleep 0.5
	done
}

# kill_node I: kill -9 of node I's Patroni and its postmaster, at once
kill_node() {
	local i=$1 pm pa
	pm=$(postmaster_pid "$i"); pa=$(patroni_pid "$i")
	kill -9 ${pa:+"$pa"} ${pm:+"$pm"} 2>/dev/null
	log "killed node$i: patroni ${pa:-?} postmaster ${pm:-?}"
}

# Every process in the sessions we started, then etcd's and Patroni's data.
ha_teardown() {
	local s pids i
	for s in "${HA_MOUNTS[@]}"; do fusermount3 -uz "$s" 2>/dev/null; done
	# Patroni stops its postgres when told to stop
	for s in "${HA_SESSIONS[@]}"; do kill -TERM "$s" 2>/dev/null; done
	wait_gone 30
	pids=$(session_pids); [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
	wait_gone 10
	pids=$(session_pids); [ -n "$pids" ] && kill -9 $pids 2>/dev/null
	wait_gone 10
	[ -n "$(session_pids)" ] && log "teardown: processes left: $(session_pids)"
	[ -n "${HA_KEEP:-}" ] || rm -rf "$HA_DIR"
}

wait_gone() {
	local deadline=$((SECONDS + $1))
	while [ -n "$(session_pids)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
}

# The pids of what we started: the sessions of etcd and Patroni, and every
# PostgreSQL process (each one a session leader) working in one of our data
# directories, such as a killed postmaster's backends on their way out.
session_pids() {
	{
		[ ${#HA_SESSIONS[@]} -gt 0 ] &&
			ps -eo pid=,sid= | awk -v s=" ${HA_SESSIONS[*]} " 'index(s, " " $2 " ") {print $1}'
		local p
		for p in /proc/[0-9]*; do
			[[ "$(readlink "$p/cwd" 2>/dev/null)" == "$HA_DIR"/* ]] && echo "${p#/proc/}"
		done
	} | sort -u
}
