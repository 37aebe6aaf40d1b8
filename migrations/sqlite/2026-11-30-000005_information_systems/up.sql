-- Vendor information systems, their grants to consumer organisations, the employees added to a
-- system in a consumer organisation, and API-KEYs (stored only as a keyed hash).

CREATE TABLE information_systems (
    client_id        TEXT PRIMARY KEY NOT NULL,
    vendor_oid       BIGINT NOT NULL REFERENCES organizations (oid),
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    -- Whether the operator enabled the API-KEY power for the system.
    api_key_enabled  BOOLEAN NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    version          BIGINT NOT NULL
);
CREATE INDEX information_systems_vendor ON information_systems (vendor_oid, client_id);

-- A vendor's grant of the API-KEY power for its system to a consumer organisation. A withdrawn
-- grant keeps its row (state 'withdrawn') for the record; granting again re-activates it.
CREATE TABLE system_grants (
    client_id     TEXT NOT NULL REFERENCES information_systems (client_id),
    consumer_oid  BIGINT NOT NULL REFERENCES organizations (oid),
    state         TEXT NOT NULL CHECK (state IN ('active', 'withdrawn')),
    granted_at    TIMESTAMP NOT NULL,
    withdrawn_at  TIMESTAMP,
    version       BIGINT NOT NULL,
    PRIMARY KEY (client_id, consumer_oid)
);
CREATE INDEX system_grants_consumer ON system_grants (consumer_oid, client_id);

-- Employees of a consumer organisation added to a system («Добавить сотрудника»): the holders
-- keys can be formed for.
CREATE TABLE system_members (
    client_id         TEXT NOT NULL REFERENCES information_systems (client_id),
    organization_oid  BIGINT NOT NULL,
    person_oid        BIGINT NOT NULL,
    added_by          BIGINT,
    added_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, organization_oid, person_oid),
    FOREIGN KEY (organization_oid, person_oid) REFERENCES employees (organization_oid, person_oid)
);

-- API-KEYs. The key (a UUID) is the secret: only its keyed hash is stored (HMAC-Streebog-256
-- under the service's API-KEY hash key, named by hash_key_id), so a dump cannot test guesses.
CREATE TABLE api_keys (
    id                TEXT PRIMARY KEY NOT NULL,
    key_hash          BLOB NOT NULL,
    hash_key_id       TEXT NOT NULL,
    -- The first characters of the key, shown so people can recognise it.
    prefix            TEXT NOT NULL,
    client_id         TEXT NOT NULL REFERENCES information_systems (client_id),
    organization_oid  BIGINT NOT NULL REFERENCES organizations (oid),
    holder_oid        BIGINT NOT NULL,
    issuer_oid        BIGINT NOT NULL,
    poa_number        TEXT NOT NULL REFERENCES powers_of_attorney (number),
    state             TEXT NOT NULL CHECK (state IN ('active', 'blocked', 'deleted')),
    valid_from        TIMESTAMP NOT NULL,
    valid_until       TIMESTAMP NOT NULL,
    last_used_at      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    version           BIGINT NOT NULL,
    FOREIGN KEY (organization_oid, holder_oid) REFERENCES employees (organization_oid, person_oid),
    FOREIGN KEY (organization_oid, issuer_oid) REFERENCES employees (organization_oid, person_oid)
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);
CREATE INDEX api_keys_org ON api_keys (organization_oid, client_id, created_at, id);
CREATE INDEX api_keys_system ON api_keys (client_id, created_at, id);
CREATE INDEX api_keys_holder ON api_keys (organization_oid, holder_oid);
