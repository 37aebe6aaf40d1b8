-- Retention of records (docs/RECORDS.md): the signed bytes of powers of attorney, their
-- signatures, revocation statements and the token issuance log are never changed or deleted.
-- A signed or revoked power of attorney keeps its document, number and organisation; only its
-- state may change (signed → revoked).
CREATE TRIGGER poa_signatures_no_update BEFORE UPDATE ON poa_signatures
BEGIN SELECT RAISE(ABORT, 'signatures of powers of attorney are records: never changed'); END;
CREATE TRIGGER poa_signatures_no_delete BEFORE DELETE ON poa_signatures
BEGIN SELECT RAISE(ABORT, 'signatures of powers of attorney are records: never deleted'); END;
CREATE TRIGGER poa_revocations_no_update BEFORE UPDATE ON poa_revocations
BEGIN SELECT RAISE(ABORT, 'revocations are records: never changed'); END;
CREATE TRIGGER poa_revocations_no_delete BEFORE DELETE ON poa_revocations
BEGIN SELECT RAISE(ABORT, 'revocations are records: never deleted'); END;
CREATE TRIGGER token_issuances_no_update BEFORE UPDATE ON token_issuances
BEGIN SELECT RAISE(ABORT, 'token issuances are records: never changed'); END;
CREATE TRIGGER token_issuances_no_delete BEFORE DELETE ON token_issuances
BEGIN SELECT RAISE(ABORT, 'token issuances are records: never deleted'); END;
CREATE TRIGGER signed_poa_document_frozen BEFORE UPDATE OF document, number, organization_oid ON powers_of_attorney
WHEN OLD.state IN ('signed', 'revoked')
BEGIN SELECT RAISE(ABORT, 'a signed power of attorney is a record: its document never changes'); END;
CREATE TRIGGER signed_poa_no_delete BEFORE DELETE ON powers_of_attorney
WHEN OLD.state IN ('signed', 'revoked')
BEGIN SELECT RAISE(ABORT, 'a signed power of attorney is a record: never deleted'); END;
