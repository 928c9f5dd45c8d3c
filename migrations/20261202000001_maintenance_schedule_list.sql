-- A customer's upcoming maintenance is read from one index alone.
--
-- A schedule keeps its task's name: a plan's task is never changed (an
-- edit writes the plan's next version), so the copy cannot go stale, and
-- the list no longer joins each row to its task.
ALTER TABLE maintenance.schedules ADD COLUMN task_name text;
UPDATE maintenance.schedules s SET task_name = t.name
FROM maintenance.plan_tasks t
WHERE (t.category, t.sku, t.version, t.task_id) = (s.plan_category, s.plan_sku, s.plan_version, s.task_id);
ALTER TABLE maintenance.schedules ALTER COLUMN task_name SET NOT NULL;

-- Active schedules only (the list and the customer's opt-out read no
-- other), with every column a summary shows, so a page is an index-only
-- scan: no heap page is visited for rows the visibility map knows are
-- visible. Schedules change a few times an occurrence, so most pages are.
CREATE INDEX schedules_upcoming_idx ON maintenance.schedules (customer_id, due_date, schedule_id)
    INCLUDE (registration_id, sku, product_name, task_id, task_name, slot, last_done_on, next_reminder_at,
             snoozed_until, dismissed)
    WHERE status = 'active';
DROP INDEX maintenance.schedules_customer_idx;
