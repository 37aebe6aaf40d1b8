-- Signed checkpoints of the audit chains: the service's signature over a chain's head
-- (sequence, hash, time, certificate fingerprint). Append-only like the events.
CREATE TABLE audit_checkpoints (
    chain            BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    hash             BYTEA NOT NULL,
    signed_at        TIMESTAMP NOT NULL,
    cert_fingerprint BYTEA NOT NULL,
    signature        BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only';
END;
$$;
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
