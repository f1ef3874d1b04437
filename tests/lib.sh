# Checks for the tests/<suite>/run.sh scripts that count their own results
# (parking, readonly). Source it, then end with `summary SUITE`.
pass=0 fail=0
ok()   { echo "ok - $1"; pass=$((pass + 1)); }
nok()  { echo "not ok - $1"; fail=$((fail + 1)); }
# check WHAT EXPR: ok when EXPR (eval'd) is true
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
# eventually SECONDS COMMAND: true as soon as COMMAND (eval'd) is
eventually() { local t=$1; shift; for _ in $(seq 1 $((t * 5))); do eval "$@" && return 0; sleep 0.2; done; return 1; }
# summary SUITE: the counts; exits non-zero if any check failed
summary() { echo "$1: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
