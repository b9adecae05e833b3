/*
 * auth.h: users, API tokens and sessions of the web server, and the only
 * place that knows the columns of their tables (users, api_tokens,
 * sessions; created by a migration in runner/store.c).
 *
 * Passwords are hashed with Argon2id (libsodium crypto_pwhash_str).  API
 * tokens and session ids are 32 random bytes shown once; only their
 * SHA-256 is stored, so a copy of the database opens no door.  Functions
 * return 0, STORE_NOT_FOUND or STORE_EXISTS where stated, -1 on a
 * database error (logged).
 */
#ifndef STA_WEB_AUTH_H
#define STA_WEB_AUTH_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

enum auth_role { AUTH_NONE, AUTH_VIEWER, AUTH_OPERATOR, AUTH_ADMIN };

const char *auth_role_name(enum auth_role r);
/* Returns 0, or -1 for a name that is not viewer, operator or admin. */
int auth_role_parse(const char *name, enum auth_role *out);

struct auth_user {
	int64_t id;                 /* 0 for the loopback user "local" */
	char *name;
	enum auth_role role;
};
void auth_user_clear(struct auth_user *u);

#define AUTH_TOKEN_PREFIX "sta_"
#define AUTH_SESSION_TTL_MS (12 * 3600 * 1000LL)
#define AUTH_PASSWORD_MIN 8

/* Opens the state database at path (migrating it through store_open
 * first) for the auth tables.  NULL with the reason logged. */
sqlite3 *auth_db_open(const char *path);

/* A user name is 1-64 of [A-Za-z0-9._@-]. */
int auth_name_valid(const char *name);
/* Argon2id hash of password (caller frees *out).  Takes about 0.1 s and
 * 64 MiB: call it off the event loop.  Returns 0 or -1. */
int auth_password_hash(const char *password, char **out);
/* 0 when password matches hash, -1 otherwise.  Also slow. */
int auth_password_check(const char *hash, const char *password);

int auth_user_add(sqlite3 *db, const char *name, enum auth_role role,
    const char *password_hash);                             /* or STORE_EXISTS */
/* Removes the user with its tokens and sessions. */
int auth_user_remove(sqlite3 *db, const char *name);        /* or STORE_NOT_FOUND */
/* The user and (when hash is not NULL) its password hash; caller frees. */
int auth_user_get(sqlite3 *db, const char *name, struct auth_user *out,
    char **hash);                                           /* or STORE_NOT_FOUND */
/* [{name, role, created}] by name; NULL on error.  Caller frees. */
cJSON *auth_users_json(sqlite3 *db);

/* Creates a token for user; *token (caller frees) is shown once. */
int auth_token_create(sqlite3 *db, const char *user, const char *name,
    char **token, int64_t *id);                             /* or STORE_NOT_FOUND */
int auth_token_revoke(sqlite3 *db, int64_t id);             /* or STORE_NOT_FOUND */
/* [{id, user, name, created}] by id; never the token.  Caller frees. */
cJSON *auth_tokens_json(sqlite3 *db);
/* The user a token belongs to (caller clears). */
int auth_token_lookup(sqlite3 *db, const char *token, struct auth_user *out);

/* Starts a session for a user; *token (caller frees) goes in the cookie.
 * Expired sessions are removed on the way. */
int auth_session_create(sqlite3 *db, int64_t user_id, char **token);
int auth_session_lookup(sqlite3 *db, const char *token, struct auth_user *out);
int auth_session_delete(sqlite3 *db, const char *token);
/* The CSRF token of a session: hex SHA-256 of a fixed label and the
 * session id, so only a holder of the session can know it. */
void auth_csrf_token(const char *session_token, char out[65]);

/* Hex SHA-256 of s into out[65]. */
void auth_sha256_hex(const char *s, char out[65]);
/* n random bytes as hex into out (2n + 1 bytes). */
void auth_random_hex(char *out, size_t n);

#endif
