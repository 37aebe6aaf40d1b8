-- The catalogue of powers (полномочия) a power of attorney can grant. The seeded rows are part
-- of the schema version (like the built-in roles), not changes made by a caller, so they carry no
-- audit event; every later change does.
CREATE TABLE powers (
    code         TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    context_kind TEXT NOT NULL CHECK (context_kind IN ('none', 'information_system')),
    source       TEXT NOT NULL CHECK (source IN ('orgadm', 'fns')),
    active       BOOLEAN NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX powers_name ON powers (name, code);

INSERT INTO powers (code, name, description, context_kind, source, active, created_at, updated_at, version) VALUES
('ORGADM_API_KEY_ISSUE',
 'Право формирования идентификационных ключей (API-Key)',
 'Формировать, продлевать и блокировать идентификационные ключи (API-Key) сотрудников организации для информационной системы вендора, указанной в доверенности; добавлять сотрудников к этой системе.',
 'information_system', 'orgadm', TRUE, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 1),
('ORGADM_API_KEY_DELEGATE',
 'Право выдачи доверенностей на формирование идентификационных ключей (API-Key)',
 'Выдавать от имени организации доверенности на право формирования идентификационных ключей (API-Key) для информационной системы вендора, указанной в доверенности.',
 'information_system', 'orgadm', TRUE, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 1),
('ORGADM_EMPLOYEES_MANAGE',
 'Управление сотрудниками и группами доступа организации',
 'Приглашать сотрудников, блокировать и увольнять их, включать сотрудников в группы доступа и исключать из них.',
 'none', 'orgadm', TRUE, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 1),
('ORGADM_SYSTEMS_MANAGE',
 'Управление информационными системами организации',
 'Регистрировать информационные системы организации-вендора, изменять их сведения и предоставлять доступ к ним организациям-потребителям.',
 'none', 'orgadm', TRUE, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 1),
('ORGADM_AUDIT_EXPORT',
 'Получение журнала аудита и реестров организации',
 'Просматривать и выгружать журнал аудита организации, реестр доверенностей и реестр идентификационных ключей.',
 'none', 'orgadm', TRUE, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 1);
