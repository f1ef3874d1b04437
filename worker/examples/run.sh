#!/usr/bin/env bash
# Starts (or stops) one durable-worker per example queue, for `make run`.
# usage: worker/examples/run.sh start|stop [STATE_DIR]
#   start  needs the PG* variables (or DURABLE_DSN); logs and pid files go to
#          STATE_DIR (default .run/workers at the top of the checkout)
#   stop   SIGTERM to each worker it started (they drain, then exit)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
state=${2:-$top/.run/workers}
bin=$top/worker/build/durable-worker
ex=$top/worker/build/examples
dsn=()
[ -n "${DURABLE_DSN:-}" ] && dsn=(--dsn "$DURABLE_DSN")
case "${1:-}" in
start)
	mkdir -p "$state"
	export DURABLE_LEDGER=${DURABLE_LEDGER:-$state/ledger}
	while read -r name args; do
		[ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null && continue
		# shellcheck disable=SC2086
		nohup "$bin" "${dsn[@]}" $args >>"$state/$name.log" 2>&1 &
		echo $! >"$state/$name.pid"
	done <<LIST
hello --task-queue hello --plugin $ex/hello.so
orders --task-queue orders --plugin $ex/order_saga.so
inventory --task-queue inventory --plugin $ex/order_saga.so --no-workflows
payments --task-queue payments --plugin $ex/order_saga.so --no-workflows
shipping --task-queue shipping --activities-dir $top/worker/examples/activities --no-workflows
pipeline --task-queue pipeline --plugin $ex/ingestion_pipeline.so --concurrency 64
billing --task-queue billing --plugin $ex/subscription_billing.so
loans --task-queue loans --plugin $ex/loan_application.so
canary --task-queue canary --plugin $ex/model_canary.so
LIST
	echo "example workers running; logs in $state"
	;;
stop)
	for f in "$state"/*.pid; do
		[ -e "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	;;
*)
	echo "usage: $0 start|stop [STATE_DIR]" >&2
	exit 2
	;;
esac
