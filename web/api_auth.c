/*
 * api_auth.c: logging in and out (the JSON API and the HTML form), the
 * session endpoint the UI asks who it is, and the admin's users and API
 * tokens.  Password hashing runs in a worker thread (web_defer) so a login
 * never stalls the loop the scheduler may share.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "web/http.h"

#define SESSION_COOKIE "sta_session"
#define LOGIN_CSRF_COOKIE "sta_login_csrf"

/* Verifying against this hash when the user does not exist makes an
 * unknown name cost as much time as a wrong password. */
static const char DUMMY_HASH[] = "$argon2id$v=19$m=65536,t=2,p=1$QKEnCN/olZYPeuCgQS5KNA$"
    "Wv0fVy35kENLQuAg8oflI8Qdf1tbTLLro6fFoz2krqo";

/* Records a change of users or tokens in the audit log. */
static void
audit(struct web_req *r, const char *action, cJSON *detail)
{
	char *d = cJSON_PrintUnformatted(detail);

	if (store_audit(r->w->store, r->actor, action, NULL, NULL, NULL, 0, d) != 0)
		log_warn("web: could not audit %s by %s", action, r->actor);
	free(d);
	cJSON_Delete(detail);
}

/* -------------------------------------------------------------- session */

static cJSON *
whoami(struct web_req *r, const char *session_token)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "user", r->user.name);
	cJSON_AddStringToObject(o, "role", auth_role_name(r->user.role));
	cJSON_AddBoolToObject(o, "auth_required", r->w->auth_required);
	if (session_token != NULL) {
		char csrf[65];

		auth_csrf_token(session_token, csrf);
		cJSON_AddStringToObject(o, "csrf_token", csrf);
	}
	return o;
}

void
api_session(struct web_req *r)
{
	cJSON *o;

	if (r->user.name == NULL) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "error", "not logged in");
		cJSON_AddNumberToObject(o, "status", 401);
		cJSON_AddBoolToObject(o, "auth_required", 1);
		web_reply_json(r, 401, o);
		web_challenge(r);
		return;
	}
	web_reply_json(r, 200, whoami(r, r->cookie_auth ? MHD_lookup_connection_value(r->conn,
	    MHD_COOKIE_KIND, SESSION_COOKIE) : NULL));
}

/* ---------------------------------------------------------------- login */

/* Failed logins per client address: after FAILS_FREE in a row, the
 * address waits 2^(n - FAILS_FREE) s (at most FAIL_WAIT_MAX) before its
 * next try, answered 429 with Retry-After; a success clears it.  A small
 * table, the least recently seen address making room. */
#define FAILS_FREE 5
#define FAIL_WAIT_MAX 300
#define FAIL_TABLE 256

static struct fail {
	char addr[NI_MAXHOST];
	int n;
	int64_t until_ms, seen_ms;
} fails[FAIL_TABLE];

static void
client_addr(const struct web_req *r, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	socklen_t len = sa != NULL && sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (sa == NULL || getnameinfo(sa, len, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(out, size, "unknown");
}

/* addr's entry; with make, a new one if there is none. */
static struct fail *
fail_find(const char *addr, int make)
{
	struct fail *oldest = &fails[0];

	for (size_t i = 0; i < FAIL_TABLE; i++) {
		if (fails[i].n > 0 && strcmp(fails[i].addr, addr) == 0)
			return &fails[i];
		if (fails[i].seen_ms < oldest->seen_ms)
			oldest = &fails[i];
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	return oldest;
}

static void
fail_note(const char *addr, int failed)
{
	struct fail *f = fail_find(addr, failed);
	int64_t now = time_now_ms(), wait;

	if (f == NULL)
		return;
	if (!failed) {
		memset(f, 0, sizeof(*f));
		return;
	}
	f->n++;
	f->seen_ms = now;
	if (f->n >= FAILS_FREE) {
		wait = f->n - FAILS_FREE < 9 ? (int64_t)1 << (f->n - FAILS_FREE) : FAIL_WAIT_MAX;
		f->until_ms = now + (wait < FAIL_WAIT_MAX ? wait : FAIL_WAIT_MAX) * 1000;
	}
}

struct login {
	char addr[NI_MAXHOST];
	char *name;
	char *password;
	char *hash;                 /* NULL: no such user */
	struct auth_user user;
	int form;                   /* from the HTML form: answer with redirects */
	int ok;
};

static void
login_free(void *arg)
{
	struct login *l = arg;

	if (l->password != NULL) {
		sodium_memzero(l->password, strlen(l->password));
		free(l->password);
	}
	free(l->name);
	free(l->hash);
	auth_user_clear(&l->user);
	free(l);
}

static void
login_work(struct web_job *j)
{
	struct login *l = j->arg;

	l->ok = auth_password_check(l->hash ? l->hash : DUMMY_HASH, l->password) == 0 &&
	    l->hash != NULL;
}

/* Cookies carry Secure unless the server listens on loopback only: on
 * any other address it is meant to be reached through an HTTPS proxy,
 * and the session must not travel in clear text. */
static const char *
cookie_secure(const struct web_req *r)
{
	return r->w->loopback ? "" : "; Secure";
}

static void
set_session_cookie(struct web_req *r, const char *token)
{
	char *c = token != NULL ?
	    xasprintf(SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
	    token, (long long)(AUTH_SESSION_TTL_MS / 1000), cookie_secure(r)) :
	    xasprintf(SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
	    cookie_secure(r));

	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_SET_COOKIE, c);
	free(c);
}

static void
login_done(struct web_job *j)
{
	struct login *l = j->arg;
	struct web_req *r = j->req;
	char *token = NULL;

	fail_note(l->addr, !l->ok);
	if (!l->ok) {
		/* The name is as sent: log it only when it could be a user's,
		 * so a newline in it cannot forge log lines. */
		if (auth_name_valid(l->name))
			log_warn("web: failed login for '%s'", l->name);
		else
			log_warn("web: failed login for (invalid name, %zu bytes)",
			    strlen(l->name));
		if (l->form)
			web_reply_redirect(r, "/login?error=1");
		else
			web_reply_error(r, 401, "wrong user name or password");
		web_challenge(r);
		return;
	}
	if (auth_session_create(r->w->db, l->user.id, &token) != 0) {
		web_reply_error(r, 503, "cannot record the session");
		return;
	}
	log_info("web: %s logged in", l->name);
	if (l->form) {
		web_reply_redirect(r, "/");
	} else {
		auth_user_clear(&r->user);
		r->user.id = l->user.id;
		r->user.name = xstrdup(l->user.name);
		r->user.role = l->user.role;
		web_reply_json(r, 200, whoami(r, token));
	}
	if (r->resp != NULL) {
		set_session_cookie(r, token);
		if (l->form) {
			char *c = xasprintf(LOGIN_CSRF_COOKIE "=; Path=/login; HttpOnly; "
			    "SameSite=Strict; Max-Age=0%s", cookie_secure(r));

			MHD_add_response_header(r->resp, MHD_HTTP_HEADER_SET_COOKIE, c);
			free(c);
		}
	}
	sodium_memzero(token, strlen(token));
	free(token);
}

static void
login_start(struct web_req *r, const char *name, const char *password, int form)
{
	struct login *l = xcalloc(1, sizeof(*l));
	struct web_job *j = xcalloc(1, sizeof(*j));
	const struct fail *f;
	int rc;

	client_addr(r, l->addr, sizeof(l->addr));
	f = fail_find(l->addr, 0);
	if (f != NULL && f->until_ms > time_now_ms()) {
		char secs[32];

		snprintf(secs, sizeof(secs), "%lld",
		    (long long)((f->until_ms - time_now_ms() + 999) / 1000));
		log_warn("web: login from %s refused: %d failed logins in a row", l->addr, f->n);
		free(l);
		free(j);
		web_reply_error(r, 429, "too many failed logins from this address; try again later");
		if (r->resp != NULL)
			MHD_add_response_header(r->resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
		return;
	}
	l->name = xstrdup(name);
	l->password = xstrdup(password);
	l->form = form;
	rc = auth_user_get(r->w->db, name, &l->user, &l->hash);
	if (rc != 0 && rc != STORE_NOT_FOUND) {
		login_free(l);
		free(j);
		web_reply_error(r, 503, "cannot read the users");
		return;
	}
	j->work = login_work;
	j->done = login_done;
	j->free_fn = login_free;
	j->arg = l;
	j->login = 1;
	if (web_defer(r, j) != 0) {
		login_free(l);
		free(j);
		web_reply_error(r, 503, "too many logins at once; try again");
	}
}

void
api_login(struct web_req *r)
{
	static const char *const fields[] = { "username", "password", NULL };
	cJSON *body = web_body_json(r, fields), *u, *p;

	if (body == NULL)
		return;
	u = cJSON_GetObjectItemCaseSensitive(body, "username");
	p = cJSON_GetObjectItemCaseSensitive(body, "password");
	if (!cJSON_IsString(u) || !cJSON_IsString(p))
		web_reply_error(r, 400, "expected {\"username\": \"...\", \"password\": \"...\"}");
	else
		login_start(r, u->valuestring, p->valuestring, 0);
	if (cJSON_IsString(p))
		sodium_memzero(p->valuestring, strlen(p->valuestring));
	cJSON_Delete(body);
}

void
api_logout(struct web_req *r)
{
	const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
	    SESSION_COOKIE);
	cJSON *o = cJSON_CreateObject();

	if (cookie != NULL && r->cookie_auth)
		auth_session_delete(r->w->db, cookie);
	cJSON_AddBoolToObject(o, "logged_out", 1);
	web_reply_json(r, 200, o);
	if (r->resp != NULL)
		set_session_cookie(r, NULL);
}

/* ------------------------------------------------------ the HTML form */

static void
html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '&': buf_puts(b, "&amp;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_putc(b, *s);
		}
	}
}

/* The login page carries a CSRF token in a hidden field and in a cookie
 * only this path receives; the form post must bring both, equal. */
void
ui_login_page(struct web_req *r)
{
	struct buf b = {0};
	char csrf[33], *cookie;
	const char *err = web_query(r, "error");

	if (!r->w->auth_required) {
		web_reply_redirect(r, "/");
		return;
	}
	auth_random_hex(csrf, 16);
	buf_puts(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>sta: log in</title><link rel=\"icon\" href=\"data:,\">"
	    "<link rel=\"stylesheet\" href=\"/static/style.css\">"
	    "</head><body class=\"login\"><main class=\"login-box\"><h1>sta</h1>"
	    "<form method=\"post\" action=\"/login\" id=\"login-form\">");
	if (err != NULL)
		buf_puts(&b, "<p class=\"error\" id=\"login-error\">Wrong user name or password.</p>");
	buf_puts(&b, "<label>User <input name=\"username\" id=\"username\" autocomplete=\"username\""
	    " required autofocus></label><label>Password <input name=\"password\" id=\"password\""
	    " type=\"password\" autocomplete=\"current-password\" required></label>"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_escape(&b, csrf);
	buf_puts(&b, "\"><button type=\"submit\" id=\"login-submit\">Log in</button></form>"
	    "</main></body></html>\n");
	web_reply_text(r, 200, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
	if (r->resp == NULL)
		return;
	cookie = xasprintf(LOGIN_CSRF_COOKIE "=%s; Path=/login; HttpOnly; SameSite=Strict%s",
	    csrf, cookie_secure(r));
	MHD_add_response_header(r->resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	MHD_add_response_header(r->resp, "Content-Security-Policy",
	    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self';"
	    " base-uri 'none'");
	free(cookie);
}

/* The value of key in an application/x-www-form-urlencoded body (caller
 * frees), or NULL. */
static char *
form_value(const struct buf *body, const char *key)
{
	size_t klen = strlen(key);
	const char *p = body->data, *end = body->data + body->len;

	while (p != NULL && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			char *v = xstrndup(p + klen + 1, (size_t)(stop - p - (ptrdiff_t)klen - 1));

			if (web_unescape(v, 1) == 0)
				return v;
			free(v);
			return NULL;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

void
ui_login_post(struct web_req *r)
{
	const char *ct = web_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
	    LOGIN_CSRF_COOKIE);
	char *user = NULL, *pw = NULL, *csrf = NULL;

	if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		web_reply_error(r, 415, "the login form posts application/x-www-form-urlencoded");
		return;
	}
	csrf = form_value(&r->body, "csrf");
	if (cookie == NULL || csrf == NULL || strlen(csrf) != 32 || strlen(cookie) != 32 ||
	    sodium_memcmp(csrf, cookie, 32) != 0) {
		web_reply_error(r, 403, "the login form is stale or was not ours: reload /login");
		goto out;
	}
	user = form_value(&r->body, "username");
	pw = form_value(&r->body, "password");
	if (user == NULL || pw == NULL)
		web_reply_redirect(r, "/login?error=1");
	else
		login_start(r, user, pw, 1);
out:
	if (pw != NULL) {
		sodium_memzero(pw, strlen(pw));
		free(pw);
	}
	free(user);
	free(csrf);
}

/* ------------------------------------------------------- users, tokens */

void
api_users_list(struct web_req *r)
{
	cJSON *a = auth_users_json(r->w->db), *o;

	if (a == NULL) {
		web_reply_error(r, 500, "cannot read the users");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "users", a);
	web_reply_json(r, 200, o);
}

struct new_user {
	char *name;
	char *password;
	char *hash;
	enum auth_role role;
};

static void
new_user_free(void *arg)
{
	struct new_user *u = arg;

	sodium_memzero(u->password, strlen(u->password));
	free(u->password);
	free(u->name);
	free(u->hash);
	free(u);
}

static void
new_user_work(struct web_job *j)
{
	struct new_user *u = j->arg;

	j->result = auth_password_hash(u->password, &u->hash);
}

static void
new_user_done(struct web_job *j)
{
	struct new_user *u = j->arg;
	struct web_req *r = j->req;
	cJSON *o;
	int rc;

	if (j->result != 0) {
		web_reply_error(r, 503, "could not hash the password");
		return;
	}
	rc = auth_user_add(r->w->db, u->name, u->role, u->hash);
	if (rc == STORE_EXISTS) {
		web_reply_error(r, 409, "user %s exists", u->name);
		return;
	}
	if (rc != 0) {
		web_reply_error(r, 503, "could not record the user");
		return;
	}
	log_info("web: %s added user %s (%s)", r->actor, u->name, auth_role_name(u->role));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "user", u->name);
	cJSON_AddStringToObject(o, "role", auth_role_name(u->role));
	audit(r, "user_add", cJSON_Duplicate(o, 1));
	cJSON_ReplaceItemInObject(o, "user", cJSON_CreateString(u->name));
	cJSON_AddItemToObject(o, "name", cJSON_DetachItemFromObject(o, "user"));
	web_reply_json(r, 201, o);
}

void
api_users_create(struct web_req *r)
{
	static const char *const fields[] = { "name", "role", "password", NULL };
	cJSON *body = web_body_json(r, fields), *n, *role, *pw;
	struct new_user *u;
	struct web_job *j;
	enum auth_role ro;

	if (body == NULL)
		return;
	n = cJSON_GetObjectItemCaseSensitive(body, "name");
	role = cJSON_GetObjectItemCaseSensitive(body, "role");
	pw = cJSON_GetObjectItemCaseSensitive(body, "password");
	if (!cJSON_IsString(n) || !auth_name_valid(n->valuestring)) {
		web_reply_error(r, 400, "name must be 1-64 of [A-Za-z0-9._@-]");
	} else if (!cJSON_IsString(role) || auth_role_parse(role->valuestring, &ro) != 0) {
		web_reply_error(r, 400, "role must be viewer, operator or admin");
	} else if (!cJSON_IsString(pw) || strlen(pw->valuestring) < AUTH_PASSWORD_MIN) {
		web_reply_error(r, 400, "password must have at least %d characters",
		    AUTH_PASSWORD_MIN);
	} else {
		u = xcalloc(1, sizeof(*u));
		j = xcalloc(1, sizeof(*j));
		u->name = xstrdup(n->valuestring);
		u->password = xstrdup(pw->valuestring);
		u->role = ro;
		j->work = new_user_work;
		j->done = new_user_done;
		j->free_fn = new_user_free;
		j->arg = u;
		if (web_defer(r, j) != 0) {
			new_user_free(u);
			free(j);
			web_reply_error(r, 503, "too busy; try again");
		}
	}
	if (cJSON_IsString(pw))
		sodium_memzero(pw->valuestring, strlen(pw->valuestring));
	cJSON_Delete(body);
}

static void
reply_no_content(struct web_req *r)
{
	web_reply(r, 204, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT));
}

void
api_users_delete(struct web_req *r)
{
	int rc = auth_user_remove(r->w->db, r->seg[3]);

	if (rc == STORE_NOT_FOUND)
		web_reply_error(r, 404, "no user '%s'", r->seg[3]);
	else if (rc != 0)
		web_reply_error(r, 503, "could not remove the user");
	else {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "user", r->seg[3]);
		audit(r, "user_remove", d);
		reply_no_content(r);
	}
}

void
api_tokens_list(struct web_req *r)
{
	cJSON *a = auth_tokens_json(r->w->db), *o;

	if (a == NULL) {
		web_reply_error(r, 500, "cannot read the tokens");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "tokens", a);
	web_reply_json(r, 200, o);
}

void
api_tokens_create(struct web_req *r)
{
	static const char *const fields[] = { "user", "name", NULL };
	cJSON *body = web_body_json(r, fields), *u, *n, *o;
	const char *user;
	char *token = NULL;
	int64_t id;
	int rc;

	if (body == NULL)
		return;
	u = cJSON_GetObjectItemCaseSensitive(body, "user");
	n = cJSON_GetObjectItemCaseSensitive(body, "name");
	user = cJSON_IsString(u) ? u->valuestring : r->user.id != 0 ? r->user.name : NULL;
	if ((u != NULL && !cJSON_IsString(u)) || (n != NULL && !cJSON_IsString(n)) ||
	    user == NULL) {
		web_reply_error(r, 400, "expected {\"user\": \"NAME\", \"name\": \"what it is for\"}");
		goto out;
	}
	rc = auth_token_create(r->w->db, user, cJSON_IsString(n) ? n->valuestring : NULL,
	    &token, &id);
	if (rc == STORE_NOT_FOUND) {
		web_reply_error(r, 404, "no user '%s'", user);
		goto out;
	}
	if (rc != 0) {
		web_reply_error(r, 503, "could not record the token");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "user", user);
	cJSON_AddItemToObject(o, "name", cJSON_IsString(n) ? cJSON_CreateString(n->valuestring) :
	    cJSON_CreateNull());
	audit(r, "token_create", cJSON_Duplicate(o, 1));
	cJSON_AddStringToObject(o, "token", token);
	web_reply_json(r, 201, o);
	sodium_memzero(token, strlen(token));
	free(token);
out:
	cJSON_Delete(body);
}

void
api_tokens_delete(struct web_req *r)
{
	int64_t id;
	int rc;

	if (parse_int64(r->seg[3], &id) != 0) {
		web_reply_error(r, 404, "no token '%s'", r->seg[3]);
		return;
	}
	rc = auth_token_revoke(r->w->db, id);
	if (rc == STORE_NOT_FOUND)
		web_reply_error(r, 404, "no token %lld", (long long)id);
	else if (rc != 0)
		web_reply_error(r, 503, "could not revoke the token");
	else {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddNumberToObject(d, "token_id", (double)id);
		audit(r, "token_revoke", d);
		reply_no_content(r);
	}
}
