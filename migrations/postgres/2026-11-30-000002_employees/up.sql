-- Employees, invitations by e-mail, access groups, and the mail outbox.

CREATE TABLE employees (
    organization_oid BIGINT NOT NULL REFERENCES organizations (oid),
    person_oid       BIGINT NOT NULL REFERENCES persons (oid),
    position         TEXT,
    work_email       TEXT,
    email_lower      TEXT,
    phone            TEXT,
    state            TEXT NOT NULL CHECK (state IN ('active', 'blocked', 'dismissed')),
    joined_at        TIMESTAMP NOT NULL,
    left_at          TIMESTAMP,
    updated_at       TIMESTAMP NOT NULL,
    version          BIGINT NOT NULL,
    PRIMARY KEY (organization_oid, person_oid)
);
CREATE INDEX employees_person ON employees (person_oid);
CREATE INDEX employees_state ON employees (organization_oid, state, person_oid);
CREATE INDEX employees_email ON employees (organization_oid, email_lower);

CREATE TABLE access_groups (
    organization_oid BIGINT NOT NULL REFERENCES organizations (oid),
    mnemonic         TEXT NOT NULL,
    system           TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    builtin          BOOLEAN NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    version          BIGINT NOT NULL,
    PRIMARY KEY (organization_oid, mnemonic)
);

CREATE TABLE group_members (
    organization_oid BIGINT NOT NULL,
    mnemonic         TEXT NOT NULL,
    person_oid       BIGINT NOT NULL,
    added_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_oid, mnemonic, person_oid),
    FOREIGN KEY (organization_oid, mnemonic) REFERENCES access_groups (organization_oid, mnemonic),
    FOREIGN KEY (organization_oid, person_oid) REFERENCES employees (organization_oid, person_oid)
);
CREATE INDEX group_members_person ON group_members (organization_oid, person_oid);

CREATE TABLE invitations (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_oid BIGINT NOT NULL REFERENCES organizations (oid),
    email            TEXT NOT NULL,
    email_lower      TEXT NOT NULL,
    surname          TEXT NOT NULL,
    given_name       TEXT NOT NULL,
    patronymic       TEXT,
    snils            TEXT,
    position         TEXT,
    add_to_org_admin BOOLEAN NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    -- Streebog-256 of the link's secret; NULL until the delivery worker makes a link, and after
    -- a resend voided the old one. The secret itself is never stored.
    secret_hash      BYTEA,
    inviter_oid      BIGINT,
    accepted_by      BIGINT,
    expires_at       TIMESTAMP NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    version          BIGINT NOT NULL
);
CREATE UNIQUE INDEX invitations_one_pending ON invitations (organization_oid, email_lower) WHERE state = 'pending';
CREATE UNIQUE INDEX invitations_secret ON invitations (secret_hash) WHERE secret_hash IS NOT NULL;
CREATE INDEX invitations_org ON invitations (organization_oid, id);

CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    invitation_id   TEXT REFERENCES invitations (id),
    recipient       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'cancelled', 'failed')),
    attempts        BIGINT NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner     TEXT,
    lease_until     TIMESTAMP,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_invitation ON mail_outbox (invitation_id);

CREATE TABLE mail_attempts (
    message_id  TEXT NOT NULL REFERENCES mail_outbox (id),
    attempt     BIGINT NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    outcome     TEXT NOT NULL CHECK (outcome IN ('started', 'sent', 'failed')),
    error       TEXT,
    PRIMARY KEY (message_id, attempt)
);

-- Every existing organisation: its head is an employee, and it has the built-in groups.
INSERT INTO employees (organization_oid, person_oid, position, work_email, email_lower, phone, state, joined_at, left_at, updated_at, version)
SELECT oid, head_oid, NULL, NULL, NULL, NULL, 'active', created_at, NULL, created_at, 1 FROM organizations;

INSERT INTO access_groups (organization_oid, mnemonic, system, name, description, builtin, created_at, updated_at, version)
SELECT o.oid, g.mnemonic, 'ESIA', g.name, g.description, TRUE, o.created_at, o.created_at, 1
FROM organizations o CROSS JOIN (
    SELECT 'TECH_PORTAL' AS mnemonic, 'Технологический портал' AS name,
           'Управление информационными системами и API-ключами организации в кабинете партнёров' AS description
    UNION ALL
    SELECT 'ORG_ADMIN', 'Администраторы профиля организации',
           'Приглашение сотрудников и управление группами доступа'
    UNION ALL
    SELECT 'ORG_AUDITORS', 'Аудиторы',
           'Чтение сведений организации и журнала аудита, выгрузка'
) g;
