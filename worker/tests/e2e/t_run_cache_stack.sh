# A kept run's stack is as large as the main thread's (8 MiB): workflow code
# that needs 2 MiB of stack after a wait, fine when replayed on the main
# thread, completes on a kept run too (it crashed the worker on a 1 MiB one).
. "$(dirname "$0")/lib.sh"
P=$WORKER_DIR/build/tests/run_cache_review.so
q=rcs-$RUN
worker kept --task-queue "$q" --plugin "$P"; K=$LAST_PID
sql "SELECT durable.start_workflow('$q-ds', 'DeepStack', '$q', 'null')" >/dev/null
check "DeepStack closes" wait_closed "$q-ds"
check "completed" eq "$(status_of "$q-ds")" COMPLETED
check "the worker is still alive" kill -0 "$K"
finish
