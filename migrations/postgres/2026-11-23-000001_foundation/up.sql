-- Foundation: counters, persons, organisations, API clients, idempotency, audit chain.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('oid', 1000000000);
-- PostgreSQL hands out OIDs from a sequence: no row lock serialises registrations.
CREATE SEQUENCE oid_seq START WITH 1000000001;

CREATE TABLE persons (
    oid        BIGINT PRIMARY KEY NOT NULL,
    surname    TEXT NOT NULL,
    given_name TEXT NOT NULL,
    patronymic TEXT,
    snils      TEXT,
    inn        TEXT,
    email      TEXT,
    phone      TEXT,
    level      TEXT NOT NULL CHECK (level IN ('simplified', 'standard', 'confirmed')),
    birth_date DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version    BIGINT NOT NULL
);
CREATE UNIQUE INDEX persons_checked_snils ON persons (snils) WHERE level <> 'simplified';
CREATE INDEX persons_snils ON persons (snils);
CREATE INDEX persons_surname ON persons (surname, oid);

CREATE TABLE organizations (
    oid         BIGINT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('legal_entity', 'individual_entrepreneur')),
    full_name   TEXT NOT NULL,
    short_name  TEXT NOT NULL,
    ogrn        TEXT NOT NULL,
    inn         TEXT NOT NULL,
    kpp         TEXT,
    address     TEXT NOT NULL,
    head_oid    BIGINT NOT NULL REFERENCES persons (oid),
    is_consumer BOOLEAN NOT NULL,
    is_vendor   BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    version     BIGINT NOT NULL
);
CREATE UNIQUE INDEX organizations_ogrn ON organizations (ogrn);
CREATE INDEX organizations_inn ON organizations (inn);
CREATE INDEX organizations_name ON organizations (short_name, oid);
CREATE INDEX organizations_head ON organizations (head_oid);

CREATE TABLE api_clients (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('operator', 'portal', 'vendor', 'auditor')),
    organization_oid BIGINT REFERENCES organizations (oid),
    token_hash       BYTEA NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    revoked_at       TIMESTAMP
);
CREATE UNIQUE INDEX api_clients_name ON api_clients (name);
CREATE UNIQUE INDEX api_clients_token_hash ON api_clients (token_hash);

CREATE TABLE idempotency (
    client_id   TEXT NOT NULL,
    operation   TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    result_id   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, operation, request_id)
);

CREATE TABLE audit_heads (
    chain      BIGINT PRIMARY KEY NOT NULL,
    seq        BIGINT NOT NULL,
    hash       BYTEA NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO audit_heads (chain, seq, hash, updated_at)
VALUES (0, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, '1970-01-01 00:00:00');

CREATE TABLE audit_events (
    chain        BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    actor_client TEXT NOT NULL,
    actor_person BIGINT,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    details      TEXT NOT NULL,
    prev_hash    BYTEA NOT NULL,
    hash         BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_time ON audit_events (chain, occurred_at);
CREATE INDEX audit_events_target ON audit_events (chain, target_type, target_id);

-- Retention: the audit log is append-only for the service's own connections.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
