DROP TABLE mail_attempts;
DROP TABLE mail_outbox;
DROP TABLE invitations;
DROP TABLE group_members;
DROP TABLE access_groups;
DROP TABLE employees;
