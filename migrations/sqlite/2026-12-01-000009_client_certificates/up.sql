-- API clients may authenticate with a TLS client certificate (its SHA-256 fingerprint) instead
-- of a bearer token; a certificate client has no token. SQLite cannot drop NOT NULL in place, so
-- the table is rebuilt (nothing references it).
CREATE TABLE api_clients_new (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('operator', 'portal', 'vendor', 'auditor')),
    organization_oid   BIGINT REFERENCES organizations (oid),
    token_hash         BLOB,
    created_at         TIMESTAMP NOT NULL,
    revoked_at         TIMESTAMP,
    certificate_sha256 BLOB,
    CHECK (token_hash IS NOT NULL OR certificate_sha256 IS NOT NULL)
);
INSERT INTO api_clients_new (id, name, role, organization_oid, token_hash, created_at, revoked_at)
    SELECT id, name, role, organization_oid, token_hash, created_at, revoked_at FROM api_clients;
DROP TABLE api_clients;
ALTER TABLE api_clients_new RENAME TO api_clients;
CREATE UNIQUE INDEX api_clients_name ON api_clients (name);
CREATE UNIQUE INDEX api_clients_token_hash ON api_clients (token_hash);
CREATE UNIQUE INDEX api_clients_certificate ON api_clients (certificate_sha256);
