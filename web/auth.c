/*
 * auth.c: users, API tokens and sessions (see auth.h).  Statements are
 * prepared per call: these run once per request at most, and the web
 * server and the CLI share them without a statement cache.
 */
#include "web/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/util.h"
#include "runner/store.h"

static const char *const role_names[] = { "none", "viewer", "operator", "admin" };

const char *
auth_role_name(enum auth_role r)
{
	return (unsigned)r < ARRAY_LEN(role_names) ? role_names[r] : "none";
}

int
auth_role_parse(const char *name, enum auth_role *out)
{
	for (size_t i = AUTH_VIEWER; i < ARRAY_LEN(role_names); i++) {
		if (name != NULL && strcmp(name, role_names[i]) == 0) {
			*out = (enum auth_role)i;
			return 0;
		}
	}
	return -1;
}

void
auth_user_clear(struct auth_user *u)
{
	free(u->name);
	memset(u, 0, sizeof(*u));
}

int
auth_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._@-") == n;
}

void
auth_sha256_hex(const char *s, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

void
auth_random_hex(char *out, size_t n)
{
	unsigned char *b = xmalloc(n);

	randombytes_buf(b, n);
	sodium_bin2hex(out, 2 * n + 1, b, n);
	sodium_memzero(b, n);
	free(b);
}

void
auth_csrf_token(const char *session_token, char out[65])
{
	char *s = xasprintf("sta-csrf:%s", session_token);

	auth_sha256_hex(s, out);
	free(s);
}

int
auth_password_hash(const char *password, char **out)
{
	char h[crypto_pwhash_STRBYTES];

	if (sodium_init() < 0 || crypto_pwhash_str(h, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		log_error("password hashing failed (out of memory?)");
		return -1;
	}
	*out = xstrdup(h);
	return 0;
}

int
auth_password_check(const char *hash, const char *password)
{
	if (hash == NULL || sodium_init() < 0)
		return -1;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : -1;
}

sqlite3 *
auth_db_open(const char *path)
{
	struct store *st;
	sqlite3 *db = NULL;

	if (sodium_init() < 0) {
		log_error("libsodium cannot initialise");
		return NULL;
	}
	st = store_open(path);      /* creates and migrates */
	if (st == NULL)
		return NULL;
	store_close(st);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		log_error("%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
	return db;
}

/* ---------------------------------------------------------------- plumbing */

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("state store: %s: %s", sql, sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

/* Steps a statement that returns no rows and finalizes it. */
static int
run(sqlite3 *db, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	if (rc != SQLITE_DONE) {
		log_error("state store: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static cJSON *
col_json(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v != NULL ? cJSON_CreateString((const char *)v) : cJSON_CreateNull();
}

static cJSON *
ms_json(int64_t ms)
{
	char iso[TIME_ISO_LEN];

	if (ms == 0)
		return cJSON_CreateNull();
	time_format_iso(ms / 1000, iso);
	return cJSON_CreateString(iso);
}

/* ---------------------------------------------------------------- users */

int
auth_user_add(sqlite3 *db, const char *name, enum auth_role role, const char *hash)
{
	sqlite3_stmt *st = prep(db, "INSERT INTO users (username, role, password_hash,"
	    " created_ms) VALUES (?1, ?2, ?3, ?4)");

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, auth_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, time_now_ms());
	return run(db, st);
}

int
auth_user_remove(sqlite3 *db, const char *name)
{
	struct auth_user u = {0};
	sqlite3_stmt *st;
	int rc = auth_user_get(db, name, &u, NULL);

	if (rc != 0)
		return rc;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		auth_user_clear(&u);
		return -1;
	}
	static const char *const del[] = {
		"DELETE FROM sessions WHERE user_id = ?1",
		"DELETE FROM api_tokens WHERE user_id = ?1",
		"DELETE FROM users WHERE id = ?1",
	};
	for (size_t i = 0; i < ARRAY_LEN(del) && rc == 0; i++) {
		st = prep(db, del[i]);
		if (st != NULL)
			sqlite3_bind_int64(st, 1, u.id);
		rc = run(db, st);
	}
	auth_user_clear(&u);
	if (rc != 0 || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
read_user(sqlite3_stmt *st, struct auth_user *out)
{
	const char *role = (const char *)sqlite3_column_text(st, 2);

	out->id = sqlite3_column_int64(st, 0);
	out->name = xstrdup((const char *)sqlite3_column_text(st, 1));
	if (auth_role_parse(role, &out->role) != 0)
		out->role = AUTH_NONE;
	return 0;
}

int
auth_user_get(sqlite3 *db, const char *name, struct auth_user *out, char **hash)
{
	sqlite3_stmt *st = prep(db, "SELECT id, username, role, password_hash FROM users"
	    " WHERE username = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_user(st, out);
		if (hash != NULL)
			*hash = xstrdup((const char *)sqlite3_column_text(st, 3));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

cJSON *
auth_users_json(sqlite3 *db)
{
	sqlite3_stmt *st = prep(db, "SELECT username, role, created_ms FROM users"
	    " ORDER BY username");
	cJSON *a;
	int rc;

	if (st == NULL)
		return NULL;
	a = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "name", col_json(st, 0));
		cJSON_AddItemToObject(o, "role", col_json(st, 1));
		cJSON_AddItemToObject(o, "created", ms_json(sqlite3_column_int64(st, 2)));
		cJSON_AddItemToArray(a, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* ---------------------------------------------------------------- tokens */

int
auth_token_create(sqlite3 *db, const char *user, const char *name, char **token,
    int64_t *id)
{
	struct auth_user u = {0};
	char raw[65], hash[65];
	sqlite3_stmt *st;
	int rc = auth_user_get(db, user, &u, NULL);

	if (rc != 0)
		return rc;
	auth_random_hex(raw, 32);
	*token = xasprintf(AUTH_TOKEN_PREFIX "%s", raw);
	sodium_memzero(raw, sizeof(raw));
	auth_sha256_hex(*token, hash);
	st = prep(db, "INSERT INTO api_tokens (user_id, name, token_sha256, created_ms)"
	    " VALUES (?1, ?2, ?3, ?4)");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, u.id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, time_now_ms());
	}
	rc = run(db, st);
	auth_user_clear(&u);
	if (rc != 0) {
		free(*token);
		*token = NULL;
		return -1;
	}
	*id = sqlite3_last_insert_rowid(db);
	return 0;
}

int
auth_token_revoke(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = prep(db, "DELETE FROM api_tokens WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = run(db, st);
	if (rc == 0 && sqlite3_changes(db) == 0)
		rc = STORE_NOT_FOUND;
	return rc;
}

cJSON *
auth_tokens_json(sqlite3 *db)
{
	sqlite3_stmt *st = prep(db, "SELECT t.id, u.username, t.name, t.created_ms"
	    " FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id");
	cJSON *a;
	int rc;

	if (st == NULL)
		return NULL;
	a = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
		cJSON_AddItemToObject(o, "user", col_json(st, 1));
		cJSON_AddItemToObject(o, "name", col_json(st, 2));
		cJSON_AddItemToObject(o, "created", ms_json(sqlite3_column_int64(st, 3)));
		cJSON_AddItemToArray(a, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

/* Runs a lookup whose first three columns are a user's id, name, role. */
static int
lookup_user(sqlite3 *db, const char *sql, const char *secret, struct auth_user *out)
{
	char hash[65];
	sqlite3_stmt *st;
	int rc;

	auth_sha256_hex(secret, hash);
	st = prep(db, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, time_now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_user(st, out);
	else
		rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : -1;
	sqlite3_finalize(st);
	return rc;
}

int
auth_token_lookup(sqlite3 *db, const char *token, struct auth_user *out)
{
	return lookup_user(db, "SELECT u.id, u.username, u.role FROM api_tokens t"
	    " JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?1 AND ?2 > 0",
	    token, out);
}

/* -------------------------------------------------------------- sessions */

int
auth_session_create(sqlite3 *db, int64_t user_id, char **token)
{
	char raw[65], hash[65];
	int64_t now = time_now_ms();
	sqlite3_stmt *st;
	int rc;

	st = prep(db, "DELETE FROM sessions WHERE expires_ms <= ?1");
	if (st != NULL)
		sqlite3_bind_int64(st, 1, now);
	if (run(db, st) != 0)
		return -1;
	auth_random_hex(raw, 32);
	auth_sha256_hex(raw, hash);
	st = prep(db, "INSERT INTO sessions (id_sha256, user_id, created_ms, expires_ms)"
	    " VALUES (?1, ?2, ?3, ?4)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, user_id);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, now + AUTH_SESSION_TTL_MS);
	}
	rc = run(db, st);
	if (rc != 0)
		return -1;
	*token = xstrdup(raw);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int
auth_session_lookup(sqlite3 *db, const char *token, struct auth_user *out)
{
	return lookup_user(db, "SELECT u.id, u.username, u.role FROM sessions s"
	    " JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ?1 AND s.expires_ms > ?2",
	    token, out);
}

int
auth_session_delete(sqlite3 *db, const char *token)
{
	char hash[65];
	sqlite3_stmt *st = prep(db, "DELETE FROM sessions WHERE id_sha256 = ?1");

	auth_sha256_hex(token, hash);
	if (st != NULL)
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	return run(db, st);
}
