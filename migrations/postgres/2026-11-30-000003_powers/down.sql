DROP TABLE powers;
