# Every file's mode is what open(2) allows: one file of each kind in the
# tree, stat'ed and then opened for reading, writing and both. A file whose
# mode has no read bit refuses O_RDONLY and O_RDWR with EACCES; one with no
# write bit refuses O_WRONLY and O_RDWR; what the mode allows opens. A kind
# whose stat and open disagree (batches/<id>/ctl once opened for reading
# although its mode is 0200) fails here, whichever kind it is.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-modes
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/modes.log" || exit 1
q="modes-$$"
id="md-$$"
W=$M/workflows/$id
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"$q\"}" >/dev/null
workflow_task "$q" '[{"type": "ScheduleActivityTask", "activity_id": "fetch", "activity_type": "A", "start_to_close_timeout": 60}]'
sql "SELECT durable.create_schedule('md-sch-$$', '{\"interval\": [{\"every\": 3600}]}',
                                   '{\"workflow_type\": \"Report\", \"task_queue\": \"$q\"}')" >/dev/null
"$FSX" write "$M/batches/start" "{\"job_id\": \"md-b-$$\", \"operation\": \"cancel\", \"query\": \"WorkflowId = 'none-$$'\"}" >/dev/null
run=$(cat "$W/run_id")

# the folders whose files are checked: one of each kind of file between them
folders=("$M" "$W" "$W/runs/$run" "$W/activities/fetch" "$M/task-queues/$q" "$M/task-queues/$q/keys/k"
         "$M/tasks/a1.1" "$M/schedules/md-sch-$$" "$M/batches/md-b-$$" "$M/batches")
files=("$W/signals/s" "$W/queries/q" "$W/updates/u")
for d in "${folders[@]}"; do
    [ -d "$d" ] || { not_ok "folder $d is there"; continue; }
    for f in "$d"/*; do
        [ -f "$f" ] && [ ! -L "$f" ] && files+=("$f")
    done
done

checked=0
for f in "${files[@]}"; do
    mode=$(stat -c %a "$f") || { not_ok "stat $f"; continue; }
    m=$((8#$mode))
    rel=${f#"$M"/}
    r=$((m & 0444)) w=$((m & 0222))
    if [ $r -ne 0 ]; then want_r=OK; else want_r=EACCES; fi
    if [ $w -ne 0 ]; then want_w=OK; else want_w=EACCES; fi
    if [ $r -ne 0 ] && [ $w -ne 0 ]; then want_rw=OK; else want_rw=EACCES; fi
    got="$("$FSX" open "$f" r) $("$FSX" open "$f" w) $("$FSX" open "$f" rw)"
    is "$got" "$want_r $want_w $want_rw" "$rel ($mode): open r, w, rw"
    checked=$((checked + 1))
done
# a walk that found almost nothing would pass vacuously
[ $checked -ge 60 ] && ok "checked $checked files" || not_ok "checked only $checked files"
# the one that drifted, by name
is "$(stat -c %a "$M/batches/md-b-$$/ctl")" "200" "a batch's ctl is 0200"
is "$("$FSX" open "$M/batches/md-b-$$/ctl" rw)" "EACCES" "and refuses O_RDWR, as every write-only ctl"
is "$("$FSX" open "$M/batches/md-b-$$/ctl" r)" "EACCES" "and O_RDONLY"


[ "$n_fail" -eq 0 ]
