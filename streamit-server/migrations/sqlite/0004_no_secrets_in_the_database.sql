-- StreamIt schema, version 4 (SQLite): the token-signing secret leaves the database.
--
-- Anyone with a backup or read access to the database could sign tokens as any user. The
-- secret is now given to the server (flag, variable or file) or kept in a file beside a SQLite
-- database, readable by its owner only. Access tokens signed with the old secret stop verifying;
-- clients refresh them (refresh tokens live in the database and are unaffected).
DROP TABLE server_secrets;
