# A multi-host connection string whose first host refuses connections (a
# dead primary in a Patroni cluster): the worker goes on to the next host and
# works, instead of retrying the dead one forever.
. "$(dirname "$0")/lib.sh"
q=multihost-$RUN
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dsn="host=127.0.0.1,${PGHOST:-/var/run/postgresql} port=$dead,${PGPORT:-5432} user=${PGUSER:-postgres} dbname=${PGDATABASE:-postgres} target_session_attrs=read-write"
worker multihost --dsn "$dsn" --task-queue "$q" --plugin "$EX/hello.so"
sql "SELECT durable.start_workflow('$q', 'Hello', '$q', '\"hosts\"')" >/dev/null
check "the workflow completes through the second host" wait_closed "$q"
check "with the right result" eq "$(sql "SELECT result #>> '{}' FROM durable.workflows WHERE workflow_id = '$q'")" "hello, hosts"
finish
