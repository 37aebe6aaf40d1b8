-- API clients may authenticate with a TLS client certificate (its SHA-256 fingerprint) instead
-- of a bearer token; a certificate client has no token.
ALTER TABLE api_clients ALTER COLUMN token_hash DROP NOT NULL;
ALTER TABLE api_clients ADD COLUMN certificate_sha256 BYTEA;
ALTER TABLE api_clients ADD CONSTRAINT api_clients_credential
    CHECK (token_hash IS NOT NULL OR certificate_sha256 IS NOT NULL);
CREATE UNIQUE INDEX api_clients_certificate ON api_clients (certificate_sha256);
