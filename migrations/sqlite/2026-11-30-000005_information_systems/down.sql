DROP TABLE api_keys;
DROP TABLE system_members;
DROP TABLE system_grants;
DROP TABLE information_systems;
