-- The token exchange (issue 7): every access token issued for a signed API-KEY, and every
-- refused exchange, with its ESIA code and full reason. Neither table holds the API-KEY itself
-- nor the token: an issuance is named by its sid (`urn:esia:sid`), a key by its id.

-- One row per issued token, written in the issuing transaction together with the
-- `token.issue` audit event on the organisation's chain, before the token is returned.
CREATE TABLE token_issuances (
    sid               TEXT PRIMARY KEY NOT NULL,
    key_id            TEXT NOT NULL REFERENCES api_keys (id),
    client_id         TEXT NOT NULL,
    organization_oid  BIGINT NOT NULL,
    holder_oid        BIGINT NOT NULL,
    issued_at         TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP NOT NULL,
    -- The address the request came from (the TCP peer; no forwarding header is trusted).
    client_addr       TEXT NOT NULL,
    -- The certificate that signed the API-KEY: serial (hex), Streebog-256 of its DER (hex),
    -- kind ('organization' or 'employee').
    signer_serial     TEXT NOT NULL,
    signer_thumbprint TEXT NOT NULL,
    signer_kind       TEXT NOT NULL,
    signing_time      TIMESTAMP NOT NULL
);
CREATE INDEX token_issuances_key ON token_issuances (key_id, issued_at);
CREATE INDEX token_issuances_org ON token_issuances (organization_oid, issued_at);

-- Refused exchanges. Kept apart from the audit chains on purpose: anyone can send a request,
-- so refusals must not lengthen (and contend for) an organisation's hash chain, and many name
-- no organisation at all. key_id is set when the presented key was found.
CREATE TABLE token_refusals (
    id                TEXT PRIMARY KEY NOT NULL,
    occurred_at       TIMESTAMP NOT NULL,
    key_id            TEXT,
    organization_oid  BIGINT,
    esia_code         TEXT NOT NULL,
    reason            TEXT NOT NULL,
    -- The full reason (never the key itself).
    detail            TEXT NOT NULL,
    client_addr       TEXT NOT NULL,
    signer_serial     TEXT
);
CREATE INDEX token_refusals_time ON token_refusals (occurred_at);
CREATE INDEX token_refusals_key ON token_refusals (key_id, occurred_at);
