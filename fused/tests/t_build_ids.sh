# task-queues/<name>/build-ids: reads the queue's build id rules ("none", or
# "<default build> <mode>"), takes the same to set them, refuses bad writes
# whole with an errno and last-error, and changes nothing then.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-builds
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/builds.log" || exit 1
q="builds-$$"
F=$M/task-queues/$q/build-ids
rules() { sql "SELECT default_build_id || ' ' || mode FROM durable.list_build_id_rules() WHERE task_queue = '$q'"; }

is "$(cat "$F")" "none" "an unversioned queue reads none"
like "$(ls "$M/task-queues/$q")" "build-ids" "the queue folder lists build-ids"
is "$("$FSX" write "$F" $'v1\n')" "OK" "write a build id"
is "$(cat "$F")" "v1 PINNED" "it reads back with the default mode, PINNED"
is "$(rules)" "v1 PINNED" "the store has it"
is "$("$FSX" write "$F" 'v2 AUTO_UPGRADE')" "OK" "write a build and a mode"
is "$(cat "$F")" "v2 AUTO_UPGRADE" "reads v2 AUTO_UPGRADE"
is "$("$FSX" write "$F" 'v3 LATEST')" "EINVAL" "an unknown mode is EINVAL"
like "$(cat "$M/task-queues/$q/last-error")" "mode must be PINNED or AUTO_UPGRADE" "last-error says why"
is "$("$FSX" write "$F" 'v3 PINNED extra')" "EINVAL" "three words are EINVAL"
is "$("$FSX" write "$F" $'\n')" "EINVAL" "nothing is EINVAL"
is "$("$FSX" write "$F" 'none PINNED')" "EINVAL" "none takes no mode"
is "$(cat "$F")" "v2 AUTO_UPGRADE" "and the refused writes changed nothing"
is "$("$FSX" write "$F" 'none')" "OK" "none removes the rules"
is "$(cat "$F")" "none" "reads none again"
is "$(rules)" "" "the store has no rules"
[ "$n_fail" -eq 0 ]
