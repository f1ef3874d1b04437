-- Priorities and fairness. A run has a priority (1 first, 5 last; 3 when
-- not given), a fairness key (a tenant, a customer; '' for none) and a
-- fairness weight (1 when not given): start options, or inherited by its
-- activities and children unless they set their own.
--
-- Polls take a queue's ready tasks by priority, then by `pass`, a virtual
-- time each task gets when it becomes ready (start-time fair queueing):
--     pass = greatest(V, the key's last ready pass + 1 / weight)
-- where V is the lowest pass ready in the queue at that priority (the task
-- the next poll takes). A key's tasks are spaced 1 / weight apart, so while
-- keys have backlogs each is served in proportion to its weight, and a key
-- that comes along starts at V, level with the head of the queue, however
-- long another key's backlog is. The store keeps no counter per queue or key
-- (no row every schedule or poll would write): V and the key's last pass are
-- two probes of the ready indexes, and the poll itself is one index scan in
-- (priority, pass) order, as cheap as the FIFO it replaces. A task gets a new
-- pass each time it becomes ready again (a retry, a lease that timed out),
-- behind its key's other ready tasks.

-- Reads and checks "priority", "fairness_key" and "fairness_weight" of obj
-- (start options, a command), each defaulting to the given inherited value.
CREATE OR REPLACE FUNCTION durable._priority_options(obj jsonb, what text, inherit_priority smallint DEFAULT 3,
                                                     inherit_key text DEFAULT '', inherit_weight float8 DEFAULT 1,
                                                     OUT priority smallint, OUT fairness_key text,
                                                     OUT fairness_weight float8)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    p jsonb := obj -> 'priority';
    w jsonb := obj -> 'fairness_weight';
BEGIN
    priority := inherit_priority;
    fairness_weight := inherit_weight;
    IF NOT obj ?| ARRAY['priority', 'fairness_weight', 'fairness_key'] THEN
        fairness_key := inherit_key;   -- the common case: nothing set, nothing to check
        RETURN;
    END IF;
    IF p IS NOT NULL AND jsonb_typeof(p) <> 'null' THEN
        IF jsonb_typeof(p) <> 'number' OR (p #>> '{}')::numeric NOT IN (1, 2, 3, 4, 5) THEN
            PERFORM durable._bad_input(format('%s: "priority" must be an integer from 1 to 5', what),
                format('Got %s.', p), '1 is served first, 5 last; 3 when not given.');
        END IF;
        priority := (p #>> '{}')::numeric::smallint;
    END IF;
    IF w IS NOT NULL AND jsonb_typeof(w) <> 'null' THEN
        IF jsonb_typeof(w) <> 'number' OR (w #>> '{}')::numeric NOT BETWEEN 0.001 AND 1000 THEN
            PERFORM durable._bad_input(format('%s: "fairness_weight" must be a number from 0.001 to 1000', what),
                format('Got %s.', w), 'A key of weight 2 is served twice as often as one of weight 1; 1 when not given.');
        END IF;
        fairness_weight := (w #>> '{}')::float8;
    END IF;
    fairness_key := coalesce(durable._check_name(durable._json_text(obj, 'fairness_key', what),
                                                 what || ': "fairness_key"'), inherit_key);
END
$$;

-- The attributes an event records of a priority: only what differs from
-- the defaults, so that histories without priorities stay as they were.
-- In C (pgext/src/event_attrs.c): a SQL body around jsonb_build_object is
-- never inlined, and was planned again in every (sub)transaction.
CREATE OR REPLACE FUNCTION durable._priority_json(priority smallint, fairness_key text, fairness_weight float8)
    RETURNS jsonb AS 'MODULE_PATHNAME', 'durable_priority_json' LANGUAGE C IMMUTABLE;

-- Where a task that becomes ready goes: pass = greatest(V, last + 1 / weight),
-- from two probes of the task table's ready indexes (V only when the key has
-- no ready task: a key's last ready task is never ahead of the queue's head).
-- In C (pgext/src/ready_pass.c), walking the indexes: a plan of these probes
-- was made once per session from the table's statistics, and a queue table
-- analyzed while empty made it a sequential scan that every later insert of
-- the session kept (20,000 activities scheduled in one transaction read
-- every task before each one: 37 s). An index walk does not depend on
-- statistics, and skips a plpgsql call per task.
--
-- _ready_pass: the next workflow task of a key (a statement that places
-- many at once, _fire_timers: the k-th of a key in one statement adds the
-- 1 / weight of the k - 1 before it). _task_pass: a task of either table,
-- leaving one task out (a task set back to SCHEDULED, already among the
-- ready ones).
CREATE OR REPLACE FUNCTION durable._ready_pass(namespace text, task_queue text, priority smallint,
                                               fairness_key text, weight float8)
    RETURNS float8 AS 'MODULE_PATHNAME', 'durable_ready_pass' LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION durable._task_pass(tasks regclass, namespace text, task_queue text, priority smallint,
                                              fairness_key text, weight float8, leave_out bigint)
    RETURNS float8 AS 'MODULE_PATHNAME', 'durable_task_pass' LANGUAGE C STABLE;
COMMENT ON FUNCTION durable._task_pass(regclass, text, text, smallint, text, float8, bigint) IS
    'The place in its queue of a task that becomes ready, leaving one task out (internal: the priority triggers of api/41_priority.sql).';

-- The triggers of an insert: an activity task has its priority and key; a
-- workflow task takes its run's when it becomes ready.
CREATE OR REPLACE FUNCTION durable._activity_task_pass() RETURNS trigger
    AS 'MODULE_PATHNAME', 'durable_activity_task_pass' LANGUAGE C;
CREATE OR REPLACE FUNCTION durable._workflow_task_pass() RETURNS trigger
    AS 'MODULE_PATHNAME', 'durable_workflow_task_pass' LANGUAGE C;

-- The same for a task set back to SCHEDULED (a retry, a lease that timed
-- out, an unpause), placed by a second update of its row after its
-- statement: a BEFORE ROW UPDATE trigger would make PostgreSQL lock the old
-- row of every update of the table, every lease included, before it even
-- evaluates the trigger's WHEN, and each such lock is a WAL record. The
-- row is already SCHEDULED (with its old pass) when this runs, so its
-- probes (those of _ready_pass and _activity_task_pass) leave it out. Both
-- task tables name these columns alike; this path is rare enough for a
-- statement planned per call.
CREATE OR REPLACE FUNCTION durable._place_again(tasks regclass, task_id bigint, namespace text, task_queue text,
                                                priority smallint, fairness_key text, weight float8)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %s t SET priority = $2, fairness_key = $3, pass = $4 WHERE t.task_id = $1', tasks)
    USING task_id, priority, fairness_key,
          durable._task_pass(tasks, namespace, task_queue, priority, fairness_key, weight, task_id);
END
$$;
COMMENT ON FUNCTION durable._place_again(regclass, bigint, text, text, smallint, text, float8) IS
    'Gives a task set back to SCHEDULED its place in its queue (internal: the priority triggers of api/41_priority.sql).';

CREATE OR REPLACE FUNCTION durable._activity_task_placed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._place_again('durable.activity_tasks', NEW.task_id, NEW.namespace, NEW.task_queue,
                                 NEW.priority, NEW.fairness_key, NEW.fairness_weight);
    RETURN NULL;
END
$$;

-- A workflow task takes its run's priority and key again, as at its insert.
CREATE OR REPLACE FUNCTION durable._workflow_task_placed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w record;
BEGIN
    -- planned per call, as _place_again: a plan kept from an empty table's
    -- statistics would read every run
    EXECUTE 'SELECT r.priority, r.fairness_key, coalesce(r.fairness_weight, 1) AS weight
               FROM durable.workflows r WHERE r.run_id = $1' INTO w USING NEW.run_id;
    PERFORM durable._place_again('durable.workflow_tasks', NEW.task_id, NEW.namespace, NEW.task_queue,
                                 w.priority, w.fairness_key, w.weight);
    RETURN NULL;
END
$$;

-- Every way a task becomes ready goes through these (an insert, or a state
-- set back to SCHEDULED), whoever wrote it. The WHEN keeps a lease's update
-- from calling the function at all. An insert that gives the pass itself
-- (pass >= 0; the default is -1) is left alone, by the insert triggers'
-- functions themselves: as a WHEN (NEW.pass < 0), PostgreSQL read the test
-- from its stored text and planned it for every statement that inserted a
-- task, which cost more than the call it saved. A statement that inserts
-- many tasks may place them set-based (_fire_timers, with
-- durable._ready_pass, which sees none of its statement's rows: the
-- statement adds their spacing itself), instead of a trigger call each. A
-- task set back to SCHEDULED is placed after its statement, against the
-- other ready tasks' passes: the store's statements set one task at a time
-- (a run's activities at unpause: one statement each), as one statement
-- setting several would place each against the others' old passes.
CREATE OR REPLACE TRIGGER activity_task_pass BEFORE INSERT ON durable.activity_tasks
    FOR EACH ROW EXECUTE FUNCTION durable._activity_task_pass();
CREATE OR REPLACE TRIGGER activity_task_pass_again AFTER UPDATE OF state ON durable.activity_tasks
    FOR EACH ROW WHEN (NEW.state = 'SCHEDULED' AND OLD.state <> 'SCHEDULED')
    EXECUTE FUNCTION durable._activity_task_placed();
CREATE OR REPLACE TRIGGER workflow_task_pass BEFORE INSERT ON durable.workflow_tasks
    FOR EACH ROW EXECUTE FUNCTION durable._workflow_task_pass();
CREATE OR REPLACE TRIGGER workflow_task_pass_again AFTER UPDATE OF state ON durable.workflow_tasks
    FOR EACH ROW WHEN (NEW.state = 'SCHEDULED' AND OLD.state <> 'SCHEDULED')
    EXECUTE FUNCTION durable._workflow_task_placed();
