-- Organisations registered by their head with a КЭП: the signed registration statement and its
-- detached CMS signature, as submitted, kept as the evidence of the registration.
CREATE TABLE organization_registrations (
    organization_oid   BIGINT PRIMARY KEY NOT NULL REFERENCES organizations (oid),
    statement          BYTEA NOT NULL,
    signature          BYTEA NOT NULL,
    signer_certificate BYTEA NOT NULL,
    signing_time       TIMESTAMP,
    registered_at      TIMESTAMP NOT NULL
);
