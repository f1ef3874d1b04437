/*
 * index_probe.c: the first row visible to a snapshot whose index's leading
 * columns equal some keys, read into a slot. The close's direct update, the
 * run's lock, the rows read by key, _run_rows' probes and an activity's
 * result (activity_result.c) each read one row (or learn there is none)
 * this way; each keeps its own locks and what it does with the row.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/rel.h"

#include "durable.h"

/* The index's first nkeys columns equal keys, compared by eqs (at most INDEX_MAX_KEYS). */
bool
DurableProbeIndexKeys(Relation heap, Relation index, int nkeys, const RegProcedure *eqs, const Datum *keys,
					  Snapshot snapshot, TupleTableSlot *slot)
{
	ScanKeyData scankeys[INDEX_MAX_KEYS];
	IndexScanDesc scan;
	bool		found;

	Assert(nkeys > 0 && nkeys <= INDEX_MAX_KEYS);
	for (int k = 0; k < nkeys; k++)
		ScanKeyEntryInitialize(&scankeys[k], 0, k + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[k], eqs[k], keys[k]);
	scan = index_beginscan(heap, index, snapshot, nkeys, 0);
	index_rescan(scan, scankeys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found;
}

bool
DurableProbeIndex(Relation heap, Relation index, RegProcedure eq, Datum key, Snapshot snapshot,
				  TupleTableSlot *slot)
{
	return DurableProbeIndexKeys(heap, index, 1, &eq, &key, snapshot, slot);
}
