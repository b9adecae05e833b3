/*
 * cmd_web.c: `sta web` (the web server on a loop of its own), `sta users
 * add|list|remove` and `sta tokens create|list|revoke` (docs/api.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/util.h"
#include "runner/cmd.h"
#include "runner/ops.h"
#include "web/auth.h"
#include "web/web.h"

/* ------------------------------------------------------------ sta web */

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("web: signal %d, stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

int
cmd_web_options(int argc, char **argv, int *i, struct web_opts *o)
{
	const char *a = argv[*i];

	if (strcmp(a, "--require-auth") == 0) {
		o->require_auth = 1;
		return 1;
	}
	if (*i + 1 >= argc)
		return 0;
	if (strcmp(a, "--analytics-db") == 0)
		o->analytics_db = argv[++*i];
	else if (strcmp(a, "--static-dir") == 0)
		o->static_dir = argv[++*i];
	else
		return 0;
	return 1;
}

void
cmd_web_announce(struct web *w, const char *bind)
{
	const char *colon = bind ? strrchr(bind, ':') : NULL;
	char *host = colon ? xstrndup(bind, (size_t)(colon - bind)) : xstrdup("127.0.0.1");

	if (host[0] == '\0' || strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0) {
		free(host);
		host = xstrdup("127.0.0.1");
	}
	printf("sta web: http://%s:%d/ (%s)\n", host, web_port(w),
	    web_auth_required(w) ? "login required" : "no login on loopback");
	fflush(stdout);
	free(host);
}

static int
web_cmd(const struct cli_env *env, int argc, char **argv)
{
	struct web_opts o = { .home = env->home, .dags_folder = env->dags_folder };
	struct ev_loop *loop;
	ev_signal sig_int, sig_term;
	struct web *w;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
			o.bind = argv[++i];
		} else if (!cmd_web_options(argc, argv, &i, &o)) {
			fprintf(stderr, "usage: sta web [--bind [ADDR:]PORT] [--analytics-db FILE] "
			    "[--static-dir DIR] [--require-auth]\n");
			return EX_USAGE;
		}
	}
	/* libmicrohttpd sends with MSG_NOSIGNAL: no SIGPIPE to ignore. */
	loop = ev_default_loop(EVFLAG_AUTO);
	w = web_start(loop, &o);
	if (w == NULL)
		return EX_UNAVAILABLE;
	cmd_web_announce(w, o.bind);
	ev_signal_init(&sig_int, stop_cb, SIGINT);
	ev_signal_init(&sig_term, stop_cb, SIGTERM);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_term);
	ev_run(loop, 0);
	ev_signal_stop(loop, &sig_int);
	ev_signal_stop(loop, &sig_term);
	web_stop(w);
	return 0;
}

/* ---------------------------------------------------------- sta users */

static sqlite3 *
auth_db(const struct cli_env *env)
{
	char *path = xasprintf("%s/sta.db", env->home);
	sqlite3 *db = auth_db_open(path);

	free(path);
	return db;
}

/* Records a user or token change in the audit log. */
static void
audit(const struct cli_env *env, const char *action, const char *detail)
{
	struct store *st = cmd_store_open(env);

	if (st != NULL)
		store_audit(st, ops_cli_actor(), action, NULL, NULL, NULL, 0, detail);
	store_close(st);
}

/* The first line of stdin, without echo when it is a terminal.  Caller
 * frees; NULL at end of input. */
static char *
read_password(void)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	struct buf b = {0};
	int c;

	if (tty) {
		fprintf(stderr, "Password: ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	while ((c = getchar()) != EOF && c != '\n')
		buf_putc(&b, (char)c);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (c == EOF && b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	return buf_detach(&b);
}

static int
users_add(const struct cli_env *env, int argc, char **argv)
{
	const char *name = NULL, *role_s = NULL;
	enum auth_role role;
	char *pw = NULL, *hash = NULL, *detail;
	sqlite3 *db;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role_s = argv[++i];
		else if (strcmp(argv[i], "--password-stdin") == 0)
			continue;   /* the password always comes from stdin */
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			name = NULL, role_s = NULL, i = argc;
	}
	if (name == NULL || role_s == NULL) {
		fprintf(stderr, "usage: sta users add NAME --role viewer|operator|admin "
		    "(password on stdin)\n");
		return EX_USAGE;
	}
	if (!auth_name_valid(name)) {
		fprintf(stderr, "sta users add: '%s': a name is 1-64 of [A-Za-z0-9._@-]\n", name);
		return EX_DATAERR;
	}
	if (auth_role_parse(role_s, &role) != 0) {
		fprintf(stderr, "sta users add: role '%s': must be viewer, operator or admin\n",
		    role_s);
		return EX_USAGE;
	}
	pw = read_password();
	if (pw == NULL || strlen(pw) < AUTH_PASSWORD_MIN) {
		fprintf(stderr, "sta users add: the password (on stdin) needs at least %d "
		    "characters\n", AUTH_PASSWORD_MIN);
		rc = EX_DATAERR;
		goto out;
	}
	if ((db = auth_db(env)) == NULL) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (auth_password_hash(pw, &hash) != 0) {
		rc = EX_SOFTWARE;
	} else if ((rc = auth_user_add(db, name, role, hash)) == STORE_EXISTS) {
		fprintf(stderr, "sta users add: user %s exists\n", name);
		rc = EX_DATAERR;
	} else if (rc != 0) {
		rc = EX_UNAVAILABLE;
	} else {
		detail = xasprintf("{\"user\":\"%s\",\"role\":\"%s\"}", name, auth_role_name(role));
		audit(env, "user_add", detail);
		free(detail);
		printf("user %s added (%s)\n", name, auth_role_name(role));
	}
	sqlite3_close(db);
out:
	if (pw != NULL) {
		sodium_memzero(pw, strlen(pw));
		free(pw);
	}
	free(hash);
	return rc;
}

static int
users_list(const struct cli_env *env, int argc, char **argv)
{
	sqlite3 *db;
	cJSON *a, *u;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sta users list [--json]\n");
		return EX_USAGE;
	}
	if ((db = auth_db(env)) == NULL)
		return EX_UNAVAILABLE;
	a = auth_users_json(db);
	sqlite3_close(db);
	if (a == NULL)
		return EX_UNAVAILABLE;
	if (env->json) {
		cmd_print_json(a);
		return 0;
	}
	printf("%-24s %-9s %s\n", "name", "role", "created");
	cJSON_ArrayForEach(u, a)
		printf("%-24s %-9s %s\n", cJSON_GetObjectItem(u, "name")->valuestring,
		    cJSON_GetObjectItem(u, "role")->valuestring,
		    cJSON_GetStringValue(cJSON_GetObjectItem(u, "created")) ?
		    cJSON_GetStringValue(cJSON_GetObjectItem(u, "created")) : "");
	cJSON_Delete(a);
	return 0;
}

static int
users_remove(const struct cli_env *env, int argc, char **argv)
{
	sqlite3 *db;
	char *detail;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: sta users remove NAME\n");
		return EX_USAGE;
	}
	if ((db = auth_db(env)) == NULL)
		return EX_UNAVAILABLE;
	rc = auth_user_remove(db, argv[1]);
	sqlite3_close(db);
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "sta users remove: no user '%s'\n", argv[1]);
		return EX_DATAERR;
	}
	if (rc != 0)
		return EX_UNAVAILABLE;
	detail = xasprintf("{\"user\":\"%s\"}", argv[1]);
	audit(env, "user_remove", detail);
	free(detail);
	printf("user %s removed with its tokens and sessions\n", argv[1]);
	return 0;
}

/* --------------------------------------------------------- sta tokens */

static int
tokens_create(const struct cli_env *env, int argc, char **argv)
{
	const char *user = NULL, *name = NULL;
	char *token = NULL, *detail;
	int64_t id;
	sqlite3 *db;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else
			user = NULL, i = argc;
	}
	if (user == NULL) {
		fprintf(stderr, "usage: sta tokens create USER [--name WHAT_FOR]\n");
		return EX_USAGE;
	}
	if ((db = auth_db(env)) == NULL)
		return EX_UNAVAILABLE;
	rc = auth_token_create(db, user, name, &token, &id);
	sqlite3_close(db);
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "sta tokens create: no user '%s' (sta users add)\n", user);
		return EX_DATAERR;
	}
	if (rc != 0)
		return EX_UNAVAILABLE;
	detail = xasprintf("{\"user\":\"%s\",\"token_id\":%lld}", user, (long long)id);
	audit(env, "token_create", detail);
	free(detail);
	if (env->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", (double)id);
		cJSON_AddStringToObject(o, "user", user);
		cJSON_AddStringToObject(o, "token", token);
		cmd_print_json(o);
	} else {
		printf("%s\n", token);
		fprintf(stderr, "token %lld for %s: shown once, stored only as its SHA-256\n",
		    (long long)id, user);
	}
	sodium_memzero(token, strlen(token));
	free(token);
	return 0;
}

static int
tokens_list(const struct cli_env *env, int argc, char **argv)
{
	sqlite3 *db;
	cJSON *a, *t;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sta tokens list [--json]\n");
		return EX_USAGE;
	}
	if ((db = auth_db(env)) == NULL)
		return EX_UNAVAILABLE;
	a = auth_tokens_json(db);
	sqlite3_close(db);
	if (a == NULL)
		return EX_UNAVAILABLE;
	if (env->json) {
		cmd_print_json(a);
		return 0;
	}
	printf("%-6s %-24s %s\n", "id", "user", "name");
	cJSON_ArrayForEach(t, a)
		printf("%-6d %-24s %s\n", cJSON_GetObjectItem(t, "id")->valueint,
		    cJSON_GetObjectItem(t, "user")->valuestring,
		    cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")) ?
		    cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")) : "");
	cJSON_Delete(a);
	return 0;
}

static int
tokens_revoke(const struct cli_env *env, int argc, char **argv)
{
	int64_t id;
	sqlite3 *db;
	char *detail;
	int rc;

	if (argc != 2 || parse_int64(argv[1], &id) != 0) {
		fprintf(stderr, "usage: sta tokens revoke ID (sta tokens list shows the ids)\n");
		return EX_USAGE;
	}
	if ((db = auth_db(env)) == NULL)
		return EX_UNAVAILABLE;
	rc = auth_token_revoke(db, id);
	sqlite3_close(db);
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "sta tokens revoke: no token %lld\n", (long long)id);
		return EX_DATAERR;
	}
	if (rc != 0)
		return EX_UNAVAILABLE;
	detail = xasprintf("{\"token_id\":%lld}", (long long)id);
	audit(env, "token_revoke", detail);
	free(detail);
	printf("token %lld revoked\n", (long long)id);
	return 0;
}

static const struct cli_cmd c_web = { NULL, "web",
	"[--bind [ADDR:]PORT] [--analytics-db FILE] [--static-dir DIR] [--require-auth]",
	"serve the web UI and REST API (default 127.0.0.1:8080)", web_cmd };
static const struct cli_cmd c_uadd = { "users", "add", "NAME --role viewer|operator|admin",
	"add a web user; the password is read from stdin", users_add };
static const struct cli_cmd c_ulist = { "users", "list", "[--json]",
	"list web users and their roles", users_list };
static const struct cli_cmd c_urm = { "users", "remove", "NAME",
	"remove a web user with its tokens and sessions", users_remove };
static const struct cli_cmd c_tcreate = { "tokens", "create", "USER [--name WHAT_FOR]",
	"create an API token for a user (printed once)", tokens_create };
static const struct cli_cmd c_tlist = { "tokens", "list", "[--json]",
	"list API tokens (ids, users, names; never the tokens)", tokens_list };
static const struct cli_cmd c_trevoke = { "tokens", "revoke", "ID",
	"revoke an API token", tokens_revoke };

const struct cli_cmd *const cmd_web_table[] = {
	&c_web, &c_uadd, &c_ulist, &c_urm, &c_tcreate, &c_tlist, &c_trevoke, NULL,
};
