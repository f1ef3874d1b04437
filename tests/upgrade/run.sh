#!/usr/bin/env bash
# Upgrades, for every older version in ./versions:
#   schema.sh   a fresh install of the current version and the old version +
#               ALTER EXTENSION durable UPDATE have the same schema (pg_dump),
#               the same dumped tables, grants and comments;
#   running.sh  workflows run to the middle on the old release's library and
#               SQL; the server is restarted on the new library (which waits
#               for the update, and says so once); ALTER EXTENSION durable
#               UPDATE; workers restarted; every workflow completes.
# Also install.sh: CREATE EXTENSION outside durable.database is refused;
# history_users.sh: the 0.1 -> 0.2 history conversion refuses, naming them,
# while an operator's own views or triggers depend on durable.history.
cd "$(dirname "$0")"
failed=()
while read -r version commit; do
	case $version in ''|'#'*) continue ;; esac
	for t in schema.sh running.sh; do
		echo "-- $t $version"
		bash "$t" "$version" "$commit" || failed+=("$t $version")
	done
done < versions
echo "-- install.sh"
bash install.sh || failed+=(install.sh)
echo "-- history_users.sh"
bash history_users.sh || failed+=(history_users.sh)
[ ${#failed[@]} -eq 0 ] || { echo "upgrade: FAILED: ${failed[*]}"; exit 1; }
echo "upgrade: all passed"
