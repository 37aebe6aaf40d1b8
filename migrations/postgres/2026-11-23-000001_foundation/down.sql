DROP TABLE audit_events;
DROP TABLE audit_heads;
DROP TABLE idempotency;
DROP TABLE api_clients;
DROP TABLE organizations;
DROP TABLE persons;
DROP TABLE counters;
DROP FUNCTION audit_events_append_only();
