-- Powers of attorney (МЧД). The document bytes are the source of truth: a draft keeps the bytes
-- the head will sign (re-rendered on every edit); a signed one keeps the bytes that were signed,
-- unchanged, with the signature. The columns beside it are what queries need.
CREATE TABLE powers_of_attorney (
    number                    TEXT PRIMARY KEY NOT NULL,
    organization_oid          BIGINT NOT NULL REFERENCES organizations (oid),
    state                     TEXT NOT NULL CHECK (state IN ('draft', 'discarded', 'signed', 'revoked')),
    origin                    TEXT NOT NULL CHECK (origin IN ('issued', 'imported')),
    internal_number           TEXT NOT NULL,
    principal_person_oid      BIGINT NOT NULL REFERENCES persons (oid),
    representative_person_oid BIGINT REFERENCES persons (oid),
    start_date                DATE NOT NULL,
    end_date                  DATE NOT NULL,
    redelegation              TEXT NOT NULL CHECK (redelegation IN ('none', 'once', 'onward')),
    revocable                 BOOLEAN NOT NULL,
    document                  BYTEA NOT NULL,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    version                   BIGINT NOT NULL
);
CREATE INDEX poa_organization ON powers_of_attorney (organization_oid, created_at, number);
CREATE INDEX poa_representative ON powers_of_attorney (representative_person_oid, state);

-- The head's detached CMS signature over the document bytes, as submitted.
CREATE TABLE poa_signatures (
    number             TEXT PRIMARY KEY NOT NULL REFERENCES powers_of_attorney (number),
    signature          BYTEA NOT NULL,
    signer_certificate BYTEA NOT NULL,
    signing_time       TIMESTAMP,
    signed_at          TIMESTAMP NOT NULL
);

-- The signed revocation statement.
CREATE TABLE poa_revocations (
    number     TEXT PRIMARY KEY NOT NULL REFERENCES powers_of_attorney (number),
    document   BYTEA NOT NULL,
    signature  BYTEA NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);

CREATE TABLE poa_powers (
    number             TEXT NOT NULL REFERENCES powers_of_attorney (number),
    position           INTEGER NOT NULL,
    power_code         TEXT NOT NULL REFERENCES powers (code),
    information_system TEXT NOT NULL,
    PRIMARY KEY (number, position)
);
CREATE INDEX poa_powers_code ON poa_powers (power_code, information_system, number);
