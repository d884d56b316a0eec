-- Scores carry their peer percentiles, lists, forecasts and exit risk; identification-list
-- changes (enter / leave) get their own history.

ALTER TABLE {db}.scores
    ADD COLUMN IF NOT EXISTS percentiles String DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS peer_group LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS lists Array(LowCardinality(String)),
    ADD COLUMN IF NOT EXISTS exit_risk Nullable(Float32),
    ADD COLUMN IF NOT EXISTS forecast_revenue Nullable(Float64),
    ADD COLUMN IF NOT EXISTS forecast_revenue_period LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS forecast_headcount Nullable(Float64),
    ADD COLUMN IF NOT EXISTS forecast_headcount_period LowCardinality(String) DEFAULT '';

ALTER TABLE {db}.enterprise_snapshot
    ADD COLUMN IF NOT EXISTS lists Array(LowCardinality(String)),
    ADD COLUMN IF NOT EXISTS exit_risk Nullable(Float32),
    ADD COLUMN IF NOT EXISTS forecast_revenue Nullable(Float64),
    ADD COLUMN IF NOT EXISTS forecast_headcount Nullable(Float64);

CREATE TABLE IF NOT EXISTS {db}.list_changes
(
    uscc           String,
    list_name      LowCardinality(String),
    change         LowCardinality(String),
    changed_at     DateTime64(3, 'UTC'),
    composite      Float32,
    event_id       String,
    evidence       String,
    config_version LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (uscc, list_name, event_id, change);

CREATE OR REPLACE VIEW {db}.v_list_members AS
SELECT arrayJoin(lists) AS list_name, uscc, name, industry_section, district_code, composite, tier
FROM {db}.enterprise_snapshot FINAL
WHERE status NOT IN ('deregistered', 'moved_out');
