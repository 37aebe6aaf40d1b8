DROP TRIGGER signed_poa_no_delete;
DROP TRIGGER signed_poa_document_frozen;
DROP TRIGGER token_issuances_no_delete;
DROP TRIGGER token_issuances_no_update;
DROP TRIGGER poa_revocations_no_delete;
DROP TRIGGER poa_revocations_no_update;
DROP TRIGGER poa_signatures_no_delete;
DROP TRIGGER poa_signatures_no_update;
