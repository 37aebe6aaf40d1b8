-- Signed checkpoints of the audit chains: the service's signature over a chain's head
-- (sequence, hash, time, certificate fingerprint). Append-only like the events.
CREATE TABLE audit_checkpoints (
    chain            BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    hash             BLOB NOT NULL,
    signed_at        TIMESTAMP NOT NULL,
    cert_fingerprint BLOB NOT NULL,
    signature        BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
