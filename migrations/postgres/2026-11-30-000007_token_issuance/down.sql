DROP TABLE token_refusals;
DROP TABLE token_issuances;
