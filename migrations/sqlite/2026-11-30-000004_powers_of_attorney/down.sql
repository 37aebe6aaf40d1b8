DROP TABLE poa_powers;
DROP TABLE poa_revocations;
DROP TABLE poa_signatures;
DROP TABLE powers_of_attorney;
