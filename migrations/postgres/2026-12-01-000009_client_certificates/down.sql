DELETE FROM api_clients WHERE token_hash IS NULL;
DROP INDEX api_clients_certificate;
ALTER TABLE api_clients DROP CONSTRAINT api_clients_credential;
ALTER TABLE api_clients DROP COLUMN certificate_sha256;
ALTER TABLE api_clients ALTER COLUMN token_hash SET NOT NULL;
