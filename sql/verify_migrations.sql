/*
Verify queries for the six Phase B tables, run by the gate's verify step
(schemagate.mysql.schema_verify, option verify_sql_file) on the migrated scratch
database. Each query runs with that database as the current one, so DATABASE()
names it, inside a read-only transaction; only SELECT, WITH and SHOW are accepted.

Annotation grammar: the comment lines right above a query hold exactly one check
line and one expect line; each query becomes one check, named by its check text.

  check: <name>          what the query proves; unique in the file
  expect: <value>        exactly one row, whose first column reads <value> (NULL for NULL)
  expect: empty          no rows at all
  expect rows: <N>       exactly N rows
  expect rows:           exactly the rows listed below it, one per line, in any order
    - <value>            written as "--   - <value>": the first column of one row

Values are compared as text. Any other "expect ...:" line, a query without both
lines, or an annotation with no query below it is refused with the file and line.
The same rules, with exact differences, are in expectations/phase_b.yaml; these
queries are the independent, server-side second opinion.
*/

-- ======================================================================= tables

-- check: the six Phase B tables exist
-- expect: 6
SELECT COUNT(*) FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- check: the Phase B tables use InnoDB (foreign keys and transactions)
-- expect: empty
SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND ENGINE <> 'InnoDB'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- check: the Phase B tables use utf8mb4_unicode_ci like the base tables
-- expect: empty
SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_COLLATION <> 'utf8mb4_unicode_ci'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- check: every Phase B table has a primary key
-- expect: empty
SELECT t.TABLE_NAME FROM information_schema.TABLES t
WHERE t.TABLE_SCHEMA = DATABASE()
  AND t.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
  AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS s
                  WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY');

-- check: created_at and updated_at are nullable timestamps on the six tables
-- expect: 12
SELECT COUNT(*) FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN ('created_at', 'updated_at')
  AND DATA_TYPE = 'timestamp' AND IS_NULLABLE = 'YES'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- ======================================================================= tenant column

-- check: no nullable company_id in the Phase B tables
-- expect: empty
SELECT TABLE_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'company_id' AND IS_NULLABLE = 'YES'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- check: company_id references companies ON DELETE CASCADE in all six tables
-- expect: 6
SELECT COUNT(DISTINCT k.TABLE_NAME)
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = DATABASE() AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.COLUMN_NAME = 'company_id'
  AND k.REFERENCED_TABLE_NAME = 'companies' AND k.REFERENCED_COLUMN_NAME = 'id' AND r.DELETE_RULE = 'CASCADE'
  AND k.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- check: company_id is the leftmost column of an index in all six tables
-- expect: 6
SELECT COUNT(DISTINCT TABLE_NAME) FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'company_id' AND SEQ_IN_INDEX = 1
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- ======================================================================= foreign keys

-- check: foreign keys per Phase B table
-- expect rows:
--   - appointment_modification_stats: 2
--   - appointment_modifications: 3
--   - callback_escalations: 4
--   - callback_requests: 6
--   - notification_configurations: 1
--   - policy_configurations: 2
SELECT CONCAT(TABLE_NAME, ': ', COUNT(*)) FROM information_schema.REFERENTIAL_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE()
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
GROUP BY TABLE_NAME ORDER BY TABLE_NAME;

-- check: ON DELETE rule of every foreign key other than company_id
-- expect rows:
--   - appointment_modification_stats.customer_id -> customers CASCADE
--   - appointment_modifications.appointment_id -> appointments CASCADE
--   - appointment_modifications.customer_id -> customers CASCADE
--   - callback_escalations.callback_request_id -> callback_requests CASCADE
--   - callback_escalations.escalated_from -> staff SET NULL
--   - callback_escalations.escalated_to -> staff SET NULL
--   - callback_requests.assigned_to -> staff SET NULL
--   - callback_requests.branch_id -> branches CASCADE
--   - callback_requests.customer_id -> customers SET NULL
--   - callback_requests.service_id -> services SET NULL
--   - callback_requests.staff_id -> staff SET NULL
--   - policy_configurations.overrides_id -> policy_configurations SET NULL
SELECT CONCAT(k.TABLE_NAME, '.', k.COLUMN_NAME, ' -> ', k.REFERENCED_TABLE_NAME, ' ', r.DELETE_RULE) AS fk
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = DATABASE() AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL AND k.COLUMN_NAME <> 'company_id'
  AND k.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
ORDER BY fk;

-- check: ON DELETE SET NULL foreign keys are on nullable columns
-- expect: empty
SELECT CONCAT(k.TABLE_NAME, '.', k.COLUMN_NAME)
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = DATABASE() AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
JOIN information_schema.COLUMNS c
  ON c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND r.DELETE_RULE = 'SET NULL' AND c.IS_NULLABLE = 'NO'
  AND k.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats');

-- ======================================================================= indexes

-- check: indexes per Phase B table (the primary key included)
-- expect rows:
--   - appointment_modification_stats: 7
--   - appointment_modifications: 9
--   - callback_escalations: 9
--   - callback_requests: 11
--   - notification_configurations: 6
--   - policy_configurations: 7
SELECT CONCAT(TABLE_NAME, ': ', COUNT(DISTINCT INDEX_NAME)) FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
GROUP BY TABLE_NAME ORDER BY TABLE_NAME;

-- check: the unique constraints, with their columns in order
-- expect rows:
--   - appointment_modification_stats.unique_customer_stat_period (company_id,customer_id,stat_type,period_start)
--   - notification_configurations.notif_config_unique_constraint (company_id,configurable_type,configurable_id,event_type,channel)
--   - policy_configurations.unique_policy_per_entity (company_id,configurable_type,configurable_id,policy_type,deleted_at)
SELECT CONCAT(TABLE_NAME, '.', INDEX_NAME, ' (', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ','), ')') AS uk
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
GROUP BY TABLE_NAME, INDEX_NAME ORDER BY uk;

-- check: the critical query indexes, with their columns in order
-- expect rows:
--   - appointment_modification_stats.idx_customer_stats_lookup (company_id,customer_id,stat_type,period_start)
--   - appointment_modifications.idx_customer_mods_rolling (company_id,customer_id,modification_type,created_at)
--   - callback_requests.idx_status_priority_expires (company_id,status,priority,expires_at)
--   - notification_configurations.notif_config_lookup_idx (company_id,configurable_type,configurable_id,event_type,channel)
SELECT CONCAT(TABLE_NAME, '.', INDEX_NAME, ' (', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ','), ')') AS idx
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
  AND (TABLE_NAME, INDEX_NAME) IN (('appointment_modifications', 'idx_customer_mods_rolling'),
                                   ('appointment_modification_stats', 'idx_customer_stats_lookup'),
                                   ('callback_requests', 'idx_status_priority_expires'),
                                   ('notification_configurations', 'notif_config_lookup_idx'))
GROUP BY TABLE_NAME, INDEX_NAME ORDER BY idx;

-- ======================================================================= column kinds

-- check: ENUM columns and their values
-- expect rows:
--   - appointment_modification_stats.stat_type enum('cancellation_count','reschedule_count')
--   - appointment_modifications.modification_type enum('cancel','reschedule')
--   - callback_escalations.escalation_reason enum('sla_breach','manual_escalation','multiple_attempts_failed')
--   - callback_requests.priority enum('normal','high','urgent')
--   - callback_requests.status enum('pending','assigned','contacted','completed','expired','cancelled')
--   - notification_configurations.channel enum('email','sms','whatsapp','push')
--   - notification_configurations.fallback_channel enum('email','sms','whatsapp','push','none')
--   - policy_configurations.policy_type enum('cancellation','reschedule','recurring')
SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME, ' ', COLUMN_TYPE) AS enum_column FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE = 'enum'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
ORDER BY enum_column;

-- JSON is a native type on MySQL 8 and LONGTEXT guarded by a json_valid() CHECK named
-- after the column on MariaDB: either form counts.
-- check: JSON columns
-- expect rows:
--   - appointment_modifications.metadata
--   - callback_escalations.metadata
--   - callback_requests.metadata
--   - callback_requests.preferred_time_window
--   - notification_configurations.metadata
--   - policy_configurations.config
SELECT CONCAT(c.TABLE_NAME, '.', c.COLUMN_NAME) AS json_column FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA = DATABASE()
  AND c.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
  AND (c.DATA_TYPE = 'json' OR EXISTS (
        SELECT 1 FROM information_schema.TABLE_CONSTRAINTS tc
        JOIN information_schema.CHECK_CONSTRAINTS cc
          ON cc.CONSTRAINT_SCHEMA = DATABASE() AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
        WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME = c.TABLE_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'
          AND tc.CONSTRAINT_NAME = c.COLUMN_NAME AND cc.CHECK_CLAUSE LIKE 'json_valid(%'))
ORDER BY json_column;

-- check: soft-delete columns (nullable deleted_at timestamps)
-- expect rows:
--   - appointment_modifications
--   - callback_requests
--   - policy_configurations
SELECT TABLE_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'deleted_at' AND DATA_TYPE = 'timestamp' AND IS_NULLABLE = 'YES'
  AND TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                     'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
ORDER BY TABLE_NAME;

-- ======================================================================= polymorphic pairs

-- check: polymorphic pairs (*_type then *_id) indexed together
-- expect rows:
--   - appointment_modifications.modified_by
--   - notification_configurations.configurable
--   - policy_configurations.configurable
SELECT DISTINCT CONCAT(t.TABLE_NAME, '.', LEFT(t.COLUMN_NAME, CHAR_LENGTH(t.COLUMN_NAME) - 5)) AS pair
FROM information_schema.STATISTICS t
JOIN information_schema.STATISTICS i
  ON i.TABLE_SCHEMA = DATABASE() AND i.TABLE_NAME = t.TABLE_NAME AND i.INDEX_NAME = t.INDEX_NAME
 AND i.SEQ_IN_INDEX = t.SEQ_IN_INDEX + 1
 AND i.COLUMN_NAME = CONCAT(LEFT(t.COLUMN_NAME, CHAR_LENGTH(t.COLUMN_NAME) - 5), '_id')
WHERE t.TABLE_SCHEMA = DATABASE() AND t.COLUMN_NAME LIKE '%\_type'
  AND t.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
ORDER BY pair;

-- check: no *_type/*_id column pair left without an index on both
-- expect: empty
SELECT CONCAT(t.TABLE_NAME, '.', t.COLUMN_NAME, ' + ', i.COLUMN_NAME)
FROM information_schema.COLUMNS t
JOIN information_schema.COLUMNS i
  ON i.TABLE_SCHEMA = DATABASE() AND i.TABLE_NAME = t.TABLE_NAME
 AND i.COLUMN_NAME = CONCAT(LEFT(t.COLUMN_NAME, CHAR_LENGTH(t.COLUMN_NAME) - 5), '_id')
WHERE t.TABLE_SCHEMA = DATABASE() AND t.COLUMN_NAME LIKE '%\_type'
  AND t.TABLE_NAME IN ('notification_configurations', 'policy_configurations', 'callback_requests',
                       'appointment_modifications', 'callback_escalations', 'appointment_modification_stats')
  AND NOT EXISTS (SELECT 1 FROM information_schema.STATISTICS s1
                  JOIN information_schema.STATISTICS s2
                    ON s2.TABLE_NAME = s1.TABLE_NAME
                   AND s2.INDEX_NAME = s1.INDEX_NAME AND s2.SEQ_IN_INDEX = s1.SEQ_IN_INDEX + 1
                  WHERE s1.TABLE_SCHEMA = DATABASE() AND s2.TABLE_SCHEMA = DATABASE() AND s1.TABLE_NAME = t.TABLE_NAME
                    AND s1.COLUMN_NAME = t.COLUMN_NAME AND s2.COLUMN_NAME = i.COLUMN_NAME);
