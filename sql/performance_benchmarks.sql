-- The gate's query benchmark: the application's hot queries on the Phase B tables, each with
-- the p95 latency it must meet and the index that must serve it. The gate runs this file on
-- the seeded scratch clone (schemagate.mysql.benchmark, plugins/module_utils/benchmark.py):
-- ANALYZE TABLE once on the tables involved, then per query a few warm-up runs, the timed
-- runs on the open server connection, and the optimizer's plan read with EXPLAIN.
--
-- Grammar. A benchmark is one read-only SELECT statement ending in ';', directly preceded
-- by a block of comment lines (no blank line between the block and the query, nor inside
-- the block). A block line "-- key: value" with a lower-case key is an annotation; other
-- comment lines in the block are free text and ignored. Keys:
--   benchmark     required, first line of the block. Unique name: lower-case letters, digits, '_'.
--   description   required. What the query serves, one line.
--   threshold_ms  required. The p95 latency limit in milliseconds, a number > 0.
--   uses_index    required, one line per table whose index the plan must use:
--                 "table.index", or "table.index_a | index_b" when either index is right.
--                 The table may appear under an alias in the query (FROM/JOIN table [AS] alias).
--   params        optional. A read-only SELECT returning exactly one row, run once before
--                 timing; each column (by its name or alias) fills the placeholder
--                 %(column)s of the query, so parameters are realistic values taken from
--                 the seeded data. Several params lines are joined with spaces.
--   advisory      optional. Why a failure of this query is a known, documented weakness: it is
--                 reported as a warning on every run instead of failing the gate.
-- Placeholders are %(name)s; write a literal percent sign in a query as %%. Only SELECT
-- (or WITH ... SELECT) is accepted, without INTO, FOR UPDATE, FOR SHARE or LOCK IN SHARE
-- MODE, and the gate runs each query inside START TRANSACTION READ ONLY.
-- An index_merge counts only when every index it merges is named. Besides the index, the
-- plan must not read a table the optimizer estimates at more than full_scan_rows rows
-- (default 1,000) with a full scan (EXPLAIN type ALL). A params query that finds no row
-- (or a NULL) fails that query's check: the seeded data has nothing for it to look up.
--
-- Parameters pick the busiest realistic case (the company, customer or staff member with
-- the most rows), ties broken by id, so the figures are deterministic for given data.

-- benchmark: notification_config_lookup
-- description: enabled notification settings of a company for one event (sent on every booking event)
-- threshold_ms: 50
-- uses_index: notification_configurations.notif_config_event_enabled_idx | notif_config_lookup_idx
-- params: SELECT company_id, event_type FROM notification_configurations WHERE is_enabled = 1
-- params: GROUP BY company_id, event_type ORDER BY COUNT(*) DESC, company_id, event_type LIMIT 1
SELECT id, configurable_type, configurable_id, channel, fallback_channel, retry_count, retry_delay_minutes, template_override
FROM notification_configurations
WHERE company_id = %(company_id)s AND event_type = %(event_type)s AND is_enabled = 1;

-- benchmark: notification_polymorphic_lookup
-- description: every notification setting attached to one entity (polymorphic configurable)
-- threshold_ms: 75
-- uses_index: notification_configurations.notif_config_polymorphic_idx
-- params: SELECT configurable_type, configurable_id FROM notification_configurations
-- params: GROUP BY configurable_type, configurable_id ORDER BY COUNT(*) DESC, configurable_type, configurable_id LIMIT 1
SELECT id, company_id, event_type, channel, fallback_channel, is_enabled
FROM notification_configurations
WHERE configurable_type = %(configurable_type)s AND configurable_id = %(configurable_id)s;

-- benchmark: callback_queue_sla
-- description: pending callbacks of a company, most urgent first, then soonest expiry (SLA queue, critical)
-- threshold_ms: 50
-- uses_index: callback_requests.idx_status_priority_expires
-- params: SELECT company_id FROM callback_requests WHERE status = 'pending'
-- params: GROUP BY company_id ORDER BY COUNT(*) DESC, company_id LIMIT 1
SELECT id, customer_id, customer_name, phone_number, priority, expires_at
FROM callback_requests
WHERE company_id = %(company_id)s AND status = 'pending' AND deleted_at IS NULL
ORDER BY priority DESC, expires_at
LIMIT 50;

-- benchmark: customer_modifications_30d
-- description: a customer's cancellations in the 30-day rolling window (policy check before each cancellation)
-- threshold_ms: 75
-- uses_index: appointment_modifications.idx_customer_mods_rolling
-- params: SELECT company_id, customer_id, MAX(created_at) AS window_end FROM appointment_modifications
-- params: WHERE modification_type = 'cancel' GROUP BY company_id, customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1
SELECT COUNT(*) AS cancellations, COALESCE(SUM(fee_charged), 0) AS fees
FROM appointment_modifications
WHERE company_id = %(company_id)s AND customer_id = %(customer_id)s AND modification_type = 'cancel'
  AND created_at > %(window_end)s - INTERVAL 30 DAY AND created_at <= %(window_end)s AND deleted_at IS NULL;

-- benchmark: customer_stats_lookup
-- description: materialized cancellation count of a customer for one period (O(1) policy check)
-- threshold_ms: 10
-- uses_index: appointment_modification_stats.idx_customer_stats_lookup | unique_customer_stat_period
-- params: SELECT company_id, customer_id, period_start FROM appointment_modification_stats
-- params: WHERE stat_type = 'cancellation_count' ORDER BY `count` DESC, id LIMIT 1
SELECT `count`, period_end, calculated_at
FROM appointment_modification_stats
WHERE company_id = %(company_id)s AND customer_id = %(customer_id)s AND stat_type = 'cancellation_count'
  AND period_start = %(period_start)s;

-- benchmark: policy_hierarchy
-- description: a company's policies of one type with the policy each one overrides (policy resolution)
-- threshold_ms: 75
-- uses_index: policy_configurations.idx_policy_type
-- params: SELECT company_id, policy_type FROM policy_configurations WHERE deleted_at IS NULL
-- params: GROUP BY company_id, policy_type ORDER BY COUNT(*) DESC, company_id, policy_type LIMIT 1
SELECT p.id, p.configurable_type, p.configurable_id, p.config, p.is_override, parent.id AS parent_id, parent.config AS parent_config
FROM policy_configurations AS p
LEFT JOIN policy_configurations AS parent ON parent.id = p.overrides_id AND parent.deleted_at IS NULL
WHERE p.company_id = %(company_id)s AND p.policy_type = %(policy_type)s AND p.deleted_at IS NULL
ORDER BY p.is_override, p.configurable_type, p.configurable_id;

-- benchmark: policy_entity_lookup
-- description: the policies attached to one entity of a company (polymorphic configurable)
-- threshold_ms: 50
-- uses_index: policy_configurations.idx_polymorphic_config | unique_policy_per_entity
-- params: SELECT company_id, configurable_type, configurable_id FROM policy_configurations WHERE is_override = 1
-- params: GROUP BY company_id, configurable_type, configurable_id ORDER BY COUNT(*) DESC, company_id, configurable_id LIMIT 1
SELECT id, policy_type, config, overrides_id
FROM policy_configurations
WHERE company_id = %(company_id)s AND configurable_type = %(configurable_type)s AND configurable_id = %(configurable_id)s
  AND deleted_at IS NULL;

-- benchmark: open_escalations_join
-- description: a company's open escalations with their callback request and customer (escalation dashboard)
-- threshold_ms: 150
-- uses_index: callback_escalations.idx_company_escalated | idx_company
-- uses_index: callback_requests.PRIMARY
-- uses_index: customers.PRIMARY
-- params: SELECT company_id FROM callback_escalations WHERE resolved_at IS NULL
-- params: GROUP BY company_id ORDER BY COUNT(*) DESC, company_id LIMIT 1
SELECT e.id, e.escalation_reason, e.escalated_at, e.escalated_to, cr.priority, cr.status, cr.phone_number,
       c.first_name, c.last_name
FROM callback_escalations AS e
JOIN callback_requests AS cr ON cr.id = e.callback_request_id
LEFT JOIN customers AS c ON c.id = cr.customer_id
WHERE e.company_id = %(company_id)s AND e.resolved_at IS NULL
ORDER BY e.escalated_at DESC
LIMIT 100;

-- benchmark: customer_callbacks_with_escalations
-- description: a customer's callback history with its escalations (joined through the escalations FK index)
-- threshold_ms: 150
-- uses_index: callback_requests.idx_company_customer | callback_requests_customer_id_foreign
-- uses_index: callback_escalations.callback_escalations_callback_request_id_foreign | idx_company_callback
-- params: SELECT company_id, customer_id FROM callback_requests WHERE customer_id IS NOT NULL
-- params: GROUP BY company_id, customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT 1
SELECT cr.id, cr.status, cr.priority, cr.created_at, e.escalation_reason, e.escalated_at, e.resolved_at
FROM callback_requests AS cr
LEFT JOIN callback_escalations AS e ON e.callback_request_id = cr.id
WHERE cr.company_id = %(company_id)s AND cr.customer_id = %(customer_id)s AND cr.deleted_at IS NULL
ORDER BY cr.created_at DESC
LIMIT 50;

-- benchmark: assigned_callbacks
-- description: open callbacks assigned to one staff member, soonest expiry first (agent work list)
-- threshold_ms: 50
-- advisory: MariaDB intersects the redundant single-column idx_company with the assigned_to FK index instead of using idx_assigned_status; cost grows with company size (dropping idx_company fixes it, but the reference schema keeps it)
-- uses_index: callback_requests.idx_assigned_status
-- params: SELECT company_id, assigned_to AS staff_id FROM callback_requests
-- params: WHERE status IN ('assigned', 'contacted') AND assigned_to IS NOT NULL
-- params: GROUP BY company_id, assigned_to ORDER BY COUNT(*) DESC, assigned_to LIMIT 1
SELECT id, customer_name, phone_number, priority, status, expires_at
FROM callback_requests
WHERE company_id = %(company_id)s AND assigned_to = %(staff_id)s AND status IN ('assigned', 'contacted')
  AND deleted_at IS NULL
ORDER BY expires_at
LIMIT 50;

-- benchmark: fee_analysis_90d
-- description: cancellation fees a company charged in the last 90 days (revenue report)
-- threshold_ms: 100
-- uses_index: appointment_modifications.idx_fee_analysis
-- params: SELECT company_id, MAX(created_at) - INTERVAL 90 DAY AS since FROM appointment_modifications
-- params: GROUP BY company_id ORDER BY COUNT(*) DESC, company_id LIMIT 1
SELECT COUNT(*) AS charged, SUM(fee_charged) AS total_fees, MAX(fee_charged) AS largest_fee
FROM appointment_modifications
WHERE company_id = %(company_id)s AND fee_charged > 0 AND created_at >= %(since)s;

-- benchmark: appointment_history
-- description: every cancellation and reschedule of one appointment, oldest first (appointment detail page)
-- threshold_ms: 50
-- appointment_id alone pins the appointment, so its FK index finds the same few rows as
-- idx_appointment_history (which only saves sorting them): either serves the query.
-- uses_index: appointment_modifications.idx_appointment_history | appointment_modifications_appointment_id_foreign
-- params: SELECT company_id, appointment_id FROM appointment_modifications
-- params: GROUP BY company_id, appointment_id ORDER BY COUNT(*) DESC, appointment_id LIMIT 1
SELECT id, modification_type, within_policy, fee_charged, reason, modified_by_type, modified_by_id, created_at
FROM appointment_modifications
WHERE company_id = %(company_id)s AND appointment_id = %(appointment_id)s
ORDER BY created_at;

-- benchmark: stale_stats_batch
-- description: next batch of a company's materialized stats older than a day, oldest first (recalculation job)
-- threshold_ms: 75
-- uses_index: appointment_modification_stats.idx_stale_stats
-- params: SELECT company_id, MAX(calculated_at) - INTERVAL 1 DAY AS stale_before FROM appointment_modification_stats
-- params: GROUP BY company_id ORDER BY COUNT(*) DESC, company_id LIMIT 1
SELECT id, customer_id, stat_type, period_start, period_end, calculated_at
FROM appointment_modification_stats
WHERE company_id = %(company_id)s AND calculated_at < %(stale_before)s
ORDER BY calculated_at
LIMIT 500;
