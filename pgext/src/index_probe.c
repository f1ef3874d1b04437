/*
 * index_probe.c: the first row visible to a snapshot whose index's leading
 * column equals one key, read into a slot. The close's direct update, the
 * run's lock, the rows read by key and _run_rows' probes each read one row
 * (or learn there is none) this way; each keeps its own locks and what it
 * does with the row.
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

bool
DurableProbeIndex(Relation heap, Relation index, RegProcedure eq, Datum key, Snapshot snapshot,
				  TupleTableSlot *slot)
{
	ScanKeyData scankey;
	IndexScanDesc scan;
	bool		found;

	ScanKeyEntryInitialize(&scankey, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], eq, key);
	scan = index_beginscan(heap, index, snapshot, 1, 0);
	index_rescan(scan, &scankey, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found;
}
