# The SQL seam (src/sql.c): each call's parameters and columns are the ones
# the store describes (sql_contract, against the test cluster, under the
# sanitizers), and every column the code reads by name is one its call names
# (sql_reads.py, on the sources). Either fails on a renamed column.
. "$(dirname "$0")/lib.sh"
if [ -x "$tests/sql_contract" ]; then
    "$tests/sql_contract" 2>"$WORK/sql_contract.log" || not_ok "sql_contract (its log: $WORK/sql_contract.log)"
else
    not_ok "tests/sql_contract is not built (make -C fused tests/sql_contract)"
fi
python3 "$tests/sql_reads.py" "$tests/../src" || not_ok "sql_reads.py"
[ "$n_fail" -eq 0 ]
