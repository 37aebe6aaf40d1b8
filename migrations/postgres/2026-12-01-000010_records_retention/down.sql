DROP TRIGGER signed_poa_frozen ON powers_of_attorney;
DROP FUNCTION signed_poa_frozen();
DROP TRIGGER token_issuances_no_change ON token_issuances;
DROP TRIGGER poa_revocations_no_change ON poa_revocations;
DROP TRIGGER poa_signatures_no_change ON poa_signatures;
DROP FUNCTION records_append_only();
