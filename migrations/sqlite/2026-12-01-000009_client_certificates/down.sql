DELETE FROM api_clients WHERE token_hash IS NULL;
CREATE TABLE api_clients_old (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('operator', 'portal', 'vendor', 'auditor')),
    organization_oid BIGINT REFERENCES organizations (oid),
    token_hash       BLOB NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    revoked_at       TIMESTAMP
);
INSERT INTO api_clients_old SELECT id, name, role, organization_oid, token_hash, created_at, revoked_at FROM api_clients;
DROP TABLE api_clients;
ALTER TABLE api_clients_old RENAME TO api_clients;
CREATE UNIQUE INDEX api_clients_name ON api_clients (name);
CREATE UNIQUE INDEX api_clients_token_hash ON api_clients (token_hash);
