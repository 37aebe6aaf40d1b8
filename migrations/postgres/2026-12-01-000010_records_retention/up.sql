-- Retention of records (docs/RECORDS.md): the signed bytes of powers of attorney, their
-- signatures, revocation statements and the token issuance log are never changed or deleted.
-- A signed or revoked power of attorney keeps its document, number and organisation; only its
-- state may change (signed → revoked).
CREATE FUNCTION records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are records: never changed or deleted', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER poa_signatures_no_change BEFORE UPDATE OR DELETE ON poa_signatures
FOR EACH ROW EXECUTE FUNCTION records_append_only();
CREATE TRIGGER poa_revocations_no_change BEFORE UPDATE OR DELETE ON poa_revocations
FOR EACH ROW EXECUTE FUNCTION records_append_only();
CREATE TRIGGER token_issuances_no_change BEFORE UPDATE OR DELETE ON token_issuances
FOR EACH ROW EXECUTE FUNCTION records_append_only();

CREATE FUNCTION signed_poa_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IN ('signed', 'revoked') THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'a signed power of attorney is a record: never deleted';
        END IF;
        IF NEW.document IS DISTINCT FROM OLD.document OR NEW.number IS DISTINCT FROM OLD.number
           OR NEW.organization_oid IS DISTINCT FROM OLD.organization_oid THEN
            RAISE EXCEPTION 'a signed power of attorney is a record: its document never changes';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER signed_poa_frozen BEFORE UPDATE OR DELETE ON powers_of_attorney
FOR EACH ROW EXECUTE FUNCTION signed_poa_frozen();
