-- A customer's upcoming maintenance without a join, from an index of the
-- active schedules only.
--
-- A schedule keeps its task's name: a plan's task is never changed (an
-- edit writes the plan's next version), so the copy cannot go stale, and
-- the list no longer joins each row to its task.
--
-- The backfill rewrites every schedule under the table's lock: apply it
-- with the servers of the previous release stopped (they write schedules
-- without the name).
ALTER TABLE maintenance.schedules ADD COLUMN task_name text;
UPDATE maintenance.schedules s SET task_name = t.name
FROM maintenance.plan_tasks t
WHERE (t.category, t.sku, t.version, t.task_id) = (s.plan_category, s.plan_sku, s.plan_version, s.task_id);
ALTER TABLE maintenance.schedules ALTER COLUMN task_name SET NOT NULL;

-- Active schedules only: the list and the customer's opt-out read no
-- other. Not a covering index: a product's name may be 2,000 characters,
-- more than a b-tree entry holds.
CREATE INDEX schedules_upcoming_idx ON maintenance.schedules (customer_id, due_date, schedule_id)
    WHERE status = 'active';
DROP INDEX maintenance.schedules_customer_idx;
