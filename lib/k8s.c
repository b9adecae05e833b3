/*
 * k8s.c: the Kubernetes API client (see k8s.h): configuration from a
 * kubeconfig or the in-cluster service account, blocking requests with
 * retries, and a pod watch on a libev loop through a curl multi handle.
 *
 * Credentials never appear in messages: errors name the request's method
 * and path and the API's Status message only.
 */
#include "config.h"

#include "lib/k8s.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <yaml.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/timeutil.h"

extern char **environ;

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define TOKEN_REREAD_S 60
#define EXEC_EARLY_S 10         /* re-run an exec plugin this long before expiry */
#define BACKOFF_CAP_MS 10000
#define RETRY_AFTER_CAP_S 60
#define WATCH_TIMEOUT_S 300     /* asks the server to end a watch after this */
#define WATCH_BACKOFF_CAP_MS 30000
#define LABEL_MAX 63
#define LABEL_HASH_HEX 10

struct k8s {
	char *server;           /* "https://host:port", no trailing '/' */
	char *ns;
	char *ca_file;
	struct buf ca_blob;     /* PEM, from certificate-authority-data */
	char *cert_file, *key_file;
	struct buf cert_blob, key_blob;
	char *token;            /* static token, from tokenFile, or exec */
	char *token_file;       /* re-read every TOKEN_REREAD_S */
	sta_time token_read;
	/* exec credential plugin */
	char *exec_cmd;
	struct strv exec_args;
	struct strv exec_env;   /* "NAME=VALUE" */
	char *exec_api;
	sta_time token_expiry;  /* 0: none (valid until a 401) */
	int have_token;
	int retries;
	long backoff_ms;
	CURL *easy;             /* blocking requests: one handle, so its connection is reused */
	long timeout_ms;        /* per request, blocking ones; 0: REQUEST_TIMEOUT_MS */
	long last_status;       /* of the last request; 0: no answer */
	char last_error[512];
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Full jitter in [d/2, d] on a delay doubling from base, capped. */
static long
backoff_delay(long base, int attempt, long cap)
{
	long d = base;

	for (int i = 0; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (d < 2)
		return d;
	return d / 2 + (long)randombytes_uniform((uint32_t)(d - d / 2 + 1));
}

static long
env_long(const char *name, long def)
{
	const char *s = getenv(name);
	int64_t v;

	if (s == NULL || *s == '\0')
		return def;
	if (parse_int64(s, &v) != 0 || v < 0 || v > 1000000) {
		log_warn("%s=%s is not a count; using %ld", name, s, def);
		return def;
	}
	return (long)v;
}

/* Base64 (with or without newlines) into b.  0 or -1. */
static int
b64_decode(const char *s, struct buf *b)
{
	size_t n = strlen(s), len = 0;
	unsigned char *out = xmalloc(n + 1);

	if (sodium_base642bin(out, n + 1, s, n, " \t\r\n", &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(out);
		return -1;
	}
	buf_reset(b);
	buf_append(b, out, len);
	free(out);
	return 0;
}

/* A path relative to the kubeconfig's folder, as kubectl resolves it;
 * caller frees. */
static char *
resolve_path(const char *dir, const char *p)
{
	if (p[0] == '/' || dir == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", dir, p);
}

/* ------------------------------------------------------------------ */
/* YAML (kubeconfig) into cJSON: mappings, sequences, scalars as strings */

static cJSON *
yaml_node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	cJSON *j;

	if (n == NULL || depth > 32)
		return cJSON_CreateNull();
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return cJSON_CreateString((const char *)n->data.scalar.value);
	case YAML_SEQUENCE_NODE:
		j = cJSON_CreateArray();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			cJSON_AddItemToArray(j, yaml_node_json(doc,
			    yaml_document_get_node(doc, *it), depth + 1));
		return j;
	case YAML_MAPPING_NODE:
		j = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *key = yaml_document_get_node(doc, p->key);

			if (key == NULL || key->type != YAML_SCALAR_NODE)
				continue;
			cJSON_AddItemToObject(j, (const char *)key->data.scalar.value,
			    yaml_node_json(doc, yaml_document_get_node(doc, p->value), depth + 1));
		}
		return j;
	default:
		return cJSON_CreateNull();
	}
}

/* The file's first YAML document as cJSON (caller frees), or NULL after
 * printing why. */
static cJSON *
yaml_load_file(const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;
	cJSON *j = NULL;

	if ((f = fopen(path, "r")) == NULL) {
		log_error("kubeconfig %s: %s", path, strerror(errno));
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		log_error("kubeconfig %s: line %zu: %s", path,
		    parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "bad YAML");
	} else {
		j = yaml_node_json(&doc, yaml_document_get_root_node(&doc), 0);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return j;
}

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The entry of list (clusters, users, contexts) named name, its field. */
static const cJSON *
kc_find(const cJSON *root, const char *list, const char *name, const char *field)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, list)) {
		const char *n = jstr(e, "name");

		if (n != NULL && strcmp(n, name) == 0)
			return cJSON_GetObjectItemCaseSensitive(e, field);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* configuration                                                       */

static struct k8s *
k8s_new(void)
{
	struct k8s *k = xcalloc(1, sizeof(*k));

	k->retries = (int)env_long("STA_K8S_RETRIES", 5);
	k->backoff_ms = env_long("STA_K8S_BACKOFF_MS", 200);
	return k;
}

void
k8s_close(struct k8s *k)
{
	if (k == NULL)
		return;
	if (k->easy != NULL)
		curl_easy_cleanup(k->easy);
	free(k->server);
	free(k->ns);
	free(k->ca_file);
	buf_free(&k->ca_blob);
	free(k->cert_file);
	free(k->key_file);
	buf_free(&k->cert_blob);
	buf_free(&k->key_blob);
	if (k->token != NULL)
		sodium_memzero(k->token, strlen(k->token));
	free(k->token);
	free(k->token_file);
	free(k->exec_cmd);
	strv_free(&k->exec_args);
	strv_free(&k->exec_env);
	free(k->exec_api);
	free(k);
}

long
k8s_last_status(const struct k8s *k)
{
	return k->last_status;
}

const char *
k8s_last_error(const struct k8s *k)
{
	return k->last_error;
}

void
k8s_set_retries(struct k8s *k, int retries)
{
	k->retries = retries;
}

void
k8s_set_timeout(struct k8s *k, long ms)
{
	k->timeout_ms = ms;
}

char *
k8s_identity(void)
{
	const char *pod = getenv("POD_NAME");
	char host[256] = "localhost";

	if (pod != NULL && *pod != '\0')
		return xstrdup(pod);
	gethostname(host, sizeof(host) - 1);
	return xasprintf("%s-%ld", host, (long)getpid());
}

const char *
k8s_namespace(const struct k8s *k)
{
	return k->ns != NULL ? k->ns : "default";
}

/* Reads a token file into k->token (trailing whitespace cut).  0 or -1. */
static int
read_token_file(struct k8s *k)
{
	char *data;
	size_t len;

	if (fs_read_file(k->token_file, &data, &len) != 0) {
		log_error("token file %s: %s", k->token_file, strerror(errno));
		return -1;
	}
	while (len > 0 && strchr(" \t\r\n", data[len - 1]) != NULL)
		data[--len] = '\0';
	free(k->token);
	k->token = data;
	k->token_read = time_now();
	k->have_token = 1;
	return 0;
}

struct k8s *
k8s_open_incluster(void)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("STA_K8S_SA_DIR");
	struct k8s *k;
	char *nsfile, *data;
	size_t len;

	if (host == NULL || *host == '\0') {
		log_error("in-cluster configuration: KUBERNETES_SERVICE_HOST is not set");
		return NULL;
	}
	if (dir == NULL || *dir == '\0')
		dir = SA_DIR;
	k = k8s_new();
	k->server = xasprintf(strchr(host, ':') != NULL ? "https://[%s]:%s" : "https://%s:%s",
	    host, port != NULL && *port != '\0' ? port : "443");
	k->ca_file = xasprintf("%s/ca.crt", dir);
	k->token_file = xasprintf("%s/token", dir);
	if (!fs_exists(k->ca_file)) {
		log_error("in-cluster configuration: %s is missing", k->ca_file);
		goto fail;
	}
	if (read_token_file(k) != 0)
		goto fail;
	nsfile = xasprintf("%s/namespace", dir);
	if (fs_read_file(nsfile, &data, &len) == 0) {
		while (len > 0 && strchr(" \t\r\n", data[len - 1]) != NULL)
			data[--len] = '\0';
		k->ns = data;
	}
	free(nsfile);
	return k;
fail:
	k8s_close(k);
	return NULL;
}

static int
kc_cluster(struct k8s *k, const cJSON *c, const char *dir, const char *name)
{
	const char *server = jstr(c, "server"), *v;

	if (server == NULL) {
		log_error("kubeconfig: cluster %s has no server", name);
		return -1;
	}
	if (strncmp(server, "https://", 8) != 0) {
		log_error("kubeconfig: cluster %s: server %s is not https:// (TLS is required)",
		    name, server);
		return -1;
	}
	if ((v = jstr(c, "insecure-skip-tls-verify")) != NULL && strcmp(v, "true") == 0) {
		log_error("kubeconfig: cluster %s: insecure-skip-tls-verify is refused "
		    "(TLS is always verified)", name);
		return -1;
	}
	k->server = xstrdup(server);
	while (str_has_suffix(k->server, "/"))
		k->server[strlen(k->server) - 1] = '\0';
	if ((v = jstr(c, "certificate-authority-data")) != NULL) {
		if (b64_decode(v, &k->ca_blob) != 0) {
			log_error("kubeconfig: cluster %s: certificate-authority-data is not base64", name);
			return -1;
		}
	} else if ((v = jstr(c, "certificate-authority")) != NULL) {
		k->ca_file = resolve_path(dir, v);
	}
	return 0;
}

static int
kc_exec(struct k8s *k, const cJSON *e, const char *dir, const char *name)
{
	const char *cmd = jstr(e, "command"), *api = jstr(e, "apiVersion");
	const cJSON *a;

	if (cmd == NULL) {
		log_error("kubeconfig: user %s: exec has no command", name);
		return -1;
	}
	/* kubectl resolves a relative command with a '/' against the
	 * kubeconfig's folder; a bare name is looked up on PATH. */
	k->exec_cmd = strchr(cmd, '/') != NULL ? resolve_path(dir, cmd) : xstrdup(cmd);
	k->exec_api = xstrdup(api != NULL ? api : "client.authentication.k8s.io/v1beta1");
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "args")) {
		if (cJSON_IsString(a))
			strv_push(&k->exec_args, a->valuestring);
	}
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "env")) {
		const char *n = jstr(a, "name"), *v = jstr(a, "value");

		if (n != NULL && v != NULL)
			strv_push_take(&k->exec_env, xasprintf("%s=%s", n, v));
	}
	return 0;
}

static int
kc_user(struct k8s *k, const cJSON *u, const char *dir, const char *name)
{
	const char *v;
	const cJSON *e;

	if (u == NULL)
		return 0;
	if (cJSON_GetObjectItemCaseSensitive(u, "auth-provider") != NULL ||
	    jstr(u, "username") != NULL) {
		log_error("kubeconfig: user %s: auth-provider and basic auth are not supported "
		    "(use a token, a client certificate or exec)", name);
		return -1;
	}
	if ((v = jstr(u, "client-certificate-data")) != NULL && b64_decode(v, &k->cert_blob) != 0) {
		log_error("kubeconfig: user %s: client-certificate-data is not base64", name);
		return -1;
	}
	if ((v = jstr(u, "client-key-data")) != NULL && b64_decode(v, &k->key_blob) != 0) {
		log_error("kubeconfig: user %s: client-key-data is not base64", name);
		return -1;
	}
	if ((v = jstr(u, "client-certificate")) != NULL)
		k->cert_file = resolve_path(dir, v);
	if ((v = jstr(u, "client-key")) != NULL)
		k->key_file = resolve_path(dir, v);
	if ((v = jstr(u, "token")) != NULL) {
		k->token = xstrdup(v);
		k->have_token = 1;
	} else if ((v = jstr(u, "tokenFile")) != NULL) {
		k->token_file = resolve_path(dir, v);
		if (read_token_file(k) != 0)
			return -1;
	} else if ((e = cJSON_GetObjectItemCaseSensitive(u, "exec")) != NULL) {
		return kc_exec(k, e, dir, name);
	}
	return 0;
}

/* The kubeconfig to read: path, else $KUBECONFIG's first existing file,
 * else ~/.kube/config when it exists; NULL when none (caller frees). */
static char *
kubeconfig_path(const char *path)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char *p;

	if (path != NULL)
		return xstrdup(path);
	if (env != NULL && *env != '\0') {
		const char *s = env;

		while (*s != '\0') {
			size_t n = strcspn(s, ":");

			p = xstrndup(s, n);
			if (n > 0 && fs_exists(p))
				return p;
			free(p);
			s += n;
			if (*s == ':')
				s++;
		}
		return NULL;
	}
	if (home == NULL)
		return NULL;
	p = xasprintf("%s/.kube/config", home);
	if (fs_exists(p))
		return p;
	free(p);
	return NULL;
}

static struct k8s *
k8s_open_kubeconfig(const char *path, const char *context)
{
	cJSON *root = yaml_load_file(path);
	struct k8s *k = NULL;
	const cJSON *ctx, *cluster;
	const char *cname, *uname, *ns;
	char *dir = NULL;

	if (root == NULL)
		return NULL;
	if (context == NULL && (context = jstr(root, "current-context")) == NULL) {
		log_error("kubeconfig %s: no current-context and no context asked for", path);
		goto out;
	}
	if ((ctx = kc_find(root, "contexts", context, "context")) == NULL) {
		log_error("kubeconfig %s: no context named %s", path, context);
		goto out;
	}
	cname = jstr(ctx, "cluster");
	uname = jstr(ctx, "user");
	if (cname == NULL || (cluster = kc_find(root, "clusters", cname, "cluster")) == NULL) {
		log_error("kubeconfig %s: context %s: no cluster %s", path, context,
		    cname != NULL ? cname : "(none)");
		goto out;
	}
	dir = fs_dirname(path);
	k = k8s_new();
	if ((ns = jstr(ctx, "namespace")) != NULL)
		k->ns = xstrdup(ns);
	if (kc_cluster(k, cluster, dir, cname) != 0)
		goto fail;
	if (uname != NULL && kc_user(k, kc_find(root, "users", uname, "user"), dir, uname) != 0)
		goto fail;
	goto out;
fail:
	k8s_close(k);
	k = NULL;
out:
	free(dir);
	cJSON_Delete(root);
	return k;
}

struct k8s *
k8s_open(const char *kubeconfig, const char *context)
{
	char *path = kubeconfig_path(kubeconfig);
	struct k8s *k;

	if (path == NULL) {
		const char *host = getenv("KUBERNETES_SERVICE_HOST");

		if (host != NULL && *host != '\0' && context == NULL)
			return k8s_open_incluster();
		log_error("no kubeconfig (KUBECONFIG, ~/.kube/config) and not in a cluster "
		    "(KUBERNETES_SERVICE_HOST)");
		return NULL;
	}
	k = k8s_open_kubeconfig(path, context);
	free(path);
	return k;
}

/* ------------------------------------------------------------------ */
/* credentials                                                         */

/* Runs the exec plugin and takes its ExecCredential.  0 or -1. */
static int
exec_credential(struct k8s *k)
{
	struct strv argv = { 0 }, envv = { 0 };
	posix_spawn_file_actions_t fa;
	struct buf out = { 0 };
	int pfd[2], status, rc = -1;
	pid_t pid;
	char chunk[4096];
	ssize_t n;
	cJSON *j = NULL;
	const cJSON *st;
	const char *tok, *exp, *v;

	strv_push(&argv, k->exec_cmd);
	for (size_t i = 0; i < k->exec_args.n; i++)
		strv_push(&argv, k->exec_args.v[i]);
	for (char **e = environ; *e != NULL; e++)
		strv_push(&envv, *e);
	for (size_t i = 0; i < k->exec_env.n; i++)
		strv_push(&envv, k->exec_env.v[i]);
	strv_push_take(&envv, xasprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\","
	    "\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}", k->exec_api));
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		log_error("exec credential %s: pipe: %s", k->exec_cmd, strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	errno = posix_spawnp(&pid, k->exec_cmd, &fa, NULL, argv.v, envv.v);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (errno != 0) {
		log_error("exec credential %s: %s", k->exec_cmd, strerror(errno));
		close(pfd[0]);
		goto out;
	}
	while ((n = read(pfd[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf_append(&out, chunk, (size_t)n);
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_error("exec credential %s: exited with status %d", k->exec_cmd,
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		goto out;
	}
	j = cJSON_Parse(out.data != NULL ? out.data : "");
	st = cJSON_GetObjectItemCaseSensitive(j, "status");
	if ((v = jstr(j, "kind")) == NULL || strcmp(v, "ExecCredential") != 0 || st == NULL) {
		log_error("exec credential %s: output is not an ExecCredential with a status",
		    k->exec_cmd);
		goto out;
	}
	tok = jstr(st, "token");
	if ((v = jstr(st, "clientCertificateData")) != NULL) {
		buf_reset(&k->cert_blob);
		buf_puts(&k->cert_blob, v);
	}
	if ((v = jstr(st, "clientKeyData")) != NULL) {
		buf_reset(&k->key_blob);
		buf_puts(&k->key_blob, v);
	}
	if (tok == NULL && k->cert_blob.len == 0) {
		log_error("exec credential %s: status has no token", k->exec_cmd);
		goto out;
	}
	k->token_expiry = 0;
	if ((exp = jstr(st, "expirationTimestamp")) != NULL &&
	    time_parse(exp, &k->token_expiry) != 0) {
		log_error("exec credential %s: bad expirationTimestamp %s", k->exec_cmd, exp);
		goto out;
	}
	free(k->token);
	k->token = tok != NULL ? xstrdup(tok) : NULL;
	k->have_token = 1;
	rc = 0;
out:
	cJSON_Delete(j);
	if (out.data != NULL)
		sodium_memzero(out.data, out.len);
	buf_free(&out);
	strv_free(&argv);
	strv_free(&envv);
	return rc;
}

/* Makes k->token current (re-reading a token file, re-running an exec
 * plugin when expired).  0 or -1. */
static int
refresh_token(struct k8s *k)
{
	sta_time now = time_now();

	if (k->token_file != NULL && now - k->token_read >= TOKEN_REREAD_S)
		return read_token_file(k);
	if (k->exec_cmd != NULL && (!k->have_token ||
	    (k->token_expiry != 0 && now >= k->token_expiry - EXEC_EARLY_S)))
		return exec_credential(k);
	return 0;
}

/* The common TLS and auth options of an easy handle; headers get the
 * Authorization line.  0 or -1. */
static int
setup_easy(struct k8s *k, CURL *c, struct curl_slist **headers)
{
	if (refresh_token(k) != 0)
		return -1;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sta/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (k->ca_blob.len > 0) {
		struct curl_blob b = { k->ca_blob.data, k->ca_blob.len, CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
	} else if (k->ca_file != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, k->ca_file);
	}
	if (k->cert_blob.len > 0) {
		struct curl_blob b = { k->cert_blob.data, k->cert_blob.len, CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (k->cert_file != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, k->cert_file);
	}
	if (k->key_blob.len > 0) {
		struct curl_blob b = { k->key_blob.data, k->key_blob.len, CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (k->key_file != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLKEY, k->key_file);
	}
	if (k->token != NULL) {
		char *h = xasprintf("Authorization: Bearer %s", k->token);

		*headers = curl_slist_append(*headers, h);
		sodium_memzero(h, strlen(h));
		free(h);
	}
	*headers = curl_slist_append(*headers, "Accept: application/json");
	return 0;
}

/* ------------------------------------------------------------------ */
/* requests                                                            */

enum retry_mode { RETRY_IDEMPOTENT, RETRY_429_ONLY };

struct resp {
	CURL *c;
	long code;
	struct buf body;        /* the answer, or an error answer of a log */
	int fd;                 /* a successful answer goes here when >= 0 */
	int fd_error;
	long retry_after;       /* seconds, from Retry-After; -1 none */
	int attempts;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	long code = 0;
	size_t len = size * n;

	curl_easy_getinfo(r->c, CURLINFO_RESPONSE_CODE, &code);
	if (r->fd >= 0 && code >= 200 && code < 300) {
		for (size_t off = 0; off < len;) {
			ssize_t w = write(r->fd, p + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				r->fd_error = errno;
				return 0;
			}
			off += (size_t)w;
		}
		return len;
	}
	buf_append(&r->body, p, len);
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		char *s = xstrndup(p + 12, len - 12), *e;
		long v;

		v = strtol(s, &e, 10);
		if (e != s && v >= 0)
			r->retry_after = v;
		free(s);
	}
	return len;
}

/* One attempt.  0 with r->code set, or -1 on a transport error (msg
 * holds it). */
static int
perform_once(struct k8s *k, const char *method, const char *path,
    const char *body, struct resp *r, char *errbuf)
{
	struct curl_slist *h = NULL;
	char *url = xasprintf("%s%s", k->server, path);
	CURLcode cc;
	int rc = -1;

	curl_easy_reset(r->c);
	errbuf[0] = '\0';
	if (setup_easy(k, r->c, &h) != 0) {
		snprintf(errbuf, CURL_ERROR_SIZE, "no credentials");
		goto out;
	}
	if (body != NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(r->c, CURLOPT_URL, url);
	curl_easy_setopt(r->c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(r->c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(r->c, CURLOPT_TIMEOUT_MS, k->timeout_ms > 0 ? k->timeout_ms : 60000L);
	if (k->timeout_ms > 0 && k->timeout_ms < 10000)
		curl_easy_setopt(r->c, CURLOPT_CONNECTTIMEOUT_MS, k->timeout_ms);
	curl_easy_setopt(r->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(r->c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(r->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	buf_reset(&r->body);
	r->code = 0;
	r->retry_after = -1;
	r->fd_error = 0;
	if (r->fd >= 0 && (ftruncate(r->fd, 0) != 0 || lseek(r->fd, 0, SEEK_SET) < 0)) {
		snprintf(errbuf, CURL_ERROR_SIZE, "truncating the output: %s", strerror(errno));
		goto out;
	}
	cc = curl_easy_perform(r->c);
	if (r->fd_error != 0) {
		snprintf(errbuf, CURL_ERROR_SIZE, "writing the output: %s", strerror(r->fd_error));
		goto out;
	}
	if (cc != CURLE_OK) {
		if (errbuf[0] == '\0')
			snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
		rc = -2;
		goto out;
	}
	curl_easy_getinfo(r->c, CURLINFO_RESPONSE_CODE, &r->code);
	rc = 0;
out:
	curl_easy_setopt(r->c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(r->c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(h);
	free(url);
	return rc;
}

/* Sends a request with retries (see k8s.h).  0 with r->code set to the
 * final HTTP status, or -1 after printing the transport error. */
static int
k8s_request(struct k8s *k, const char *method, const char *path,
    const char *body, enum retry_mode mode, struct resp *r)
{
	char errbuf[CURL_ERROR_SIZE];
	int reauth = 0, rc;

	if (k->easy == NULL && (k->easy = curl_easy_init()) == NULL) {
		log_error("%s %s: curl_easy_init failed", method, path);
		return -1;
	}
	r->c = k->easy;
	for (r->attempts = 1;; r->attempts++) {
		long delay;
		int retry;

		rc = perform_once(k, method, path, body, r, errbuf);
		if (rc == -1) {
			log_error("%s %s: %s", method, path, errbuf);
			break;
		}
		/* An exec credential may have been revoked early: run it
		 * again once, as kubectl does. */
		if (rc == 0 && r->code == 401 && k->exec_cmd != NULL && !reauth) {
			reauth = 1;
			k->have_token = 0;
			r->attempts--;
			continue;
		}
		if (rc == 0)
			retry = r->code == 429 || (r->code >= 500 && mode == RETRY_IDEMPOTENT);
		else
			retry = mode == RETRY_IDEMPOTENT;
		if (!retry || r->attempts > k->retries) {
			if (rc != 0) {
				log_error("%s %s: %s (after %d attempts)", method, path, errbuf,
				    r->attempts);
				rc = -1;
			}
			break;
		}
		delay = backoff_delay(k->backoff_ms, r->attempts - 1, BACKOFF_CAP_MS);
		if (rc == 0 && r->code == 429 && r->retry_after >= 0)
			delay = (r->retry_after > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S :
			    r->retry_after) * 1000 + (long)randombytes_uniform(250);
		if (rc == 0)
			log_warn("%s %s: HTTP %ld; retry %d in %ld ms", method, path, r->code,
			    r->attempts, delay);
		else
			log_warn("%s %s: %s; retry %d in %ld ms", method, path, errbuf,
			    r->attempts, delay);
		sleep_ms(delay);
	}
	r->c = NULL;
	k->last_status = rc == 0 ? r->code : 0;
	if (rc == 0)
		k->last_error[0] = '\0';
	else
		snprintf(k->last_error, sizeof(k->last_error), "%s", errbuf);
	return rc == 0 ? 0 : -1;
}

/* Maps a final HTTP status to a result, printing the Status message of a
 * failure (quiet_404: a 404 is an answer, not an error). */
static int
k8s_result(struct k8s *k, const char *method, const char *path, struct resp *r, int quiet_404)
{
	cJSON *st;
	const char *msg = NULL, *reason = NULL;
	int rc;

	if (r->code >= 200 && r->code < 300)
		return 0;
	st = cJSON_Parse(r->body.data != NULL ? r->body.data : "");
	if (st != NULL) {
		msg = jstr(st, "message");
		reason = jstr(st, "reason");
	}
	switch (r->code) {
	case 404: rc = K8S_NOT_FOUND; break;
	case 409: rc = reason != NULL && strcmp(reason, "AlreadyExists") == 0 ?
	    K8S_EXISTS : K8S_CONFLICT; break;
	case 410: rc = K8S_GONE; break;
	default: rc = -1; break;
	}
	snprintf(k->last_error, sizeof(k->last_error), "HTTP %ld %s: %s", r->code,
	    reason != NULL ? reason : "", msg != NULL ? msg : "");
	if (!(quiet_404 && rc == K8S_NOT_FOUND))
		log_error("%s %s: HTTP %ld %s: %s", method, path, r->code,
		    reason != NULL ? reason : "", msg != NULL ? msg :
		    (r->body.data != NULL ? r->body.data : ""));
	cJSON_Delete(st);
	return rc;
}

/* A request whose answer is a JSON object into *out (when out != NULL). */
static int
k8s_json(struct k8s *k, const char *method, const char *path, const char *body,
    enum retry_mode mode, int quiet_404, cJSON **out, int *attempts)
{
	struct resp r = { .fd = -1 };
	int rc;

	if (out != NULL)
		*out = NULL;
	if (k8s_request(k, method, path, body, mode, &r) != 0) {
		rc = -1;
		goto out;
	}
	if (attempts != NULL)
		*attempts = r.attempts;
	if ((rc = k8s_result(k, method, path, &r, quiet_404)) != 0)
		goto out;
	if (out != NULL && (*out = cJSON_Parse(r.body.data != NULL ? r.body.data : "")) == NULL) {
		log_error("%s %s: the answer is not JSON", method, path);
		rc = -1;
	}
out:
	buf_free(&r.body);
	return rc;
}

static char *
esc(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r = xstrdup(e != NULL ? e : "");

	curl_free(e);
	return r;
}

/* Does every label of want (and spec.holderIdentity) match have's? */
static int
same_owner(const cJSON *want, const cJSON *have)
{
	const cJSON *wl = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(want, "metadata"), "labels");
	const cJSON *hl = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(have, "metadata"), "labels");
	const cJSON *l;
	const char *wh = jstr(cJSON_GetObjectItemCaseSensitive(want, "spec"), "holderIdentity");
	const char *hh = jstr(cJSON_GetObjectItemCaseSensitive(have, "spec"), "holderIdentity");

	cJSON_ArrayForEach(l, wl) {
		const char *v = jstr(hl, l->string);

		if (!cJSON_IsString(l) || v == NULL || strcmp(v, l->valuestring) != 0)
			return 0;
	}
	if (wh != NULL && (hh == NULL || strcmp(wh, hh) != 0))
		return 0;
	return 1;
}

/* POST of a named object to collection; get_path reads it back after a
 * retried create meets AlreadyExists (see k8s.h). */
static int
k8s_create(struct k8s *k, const char *collection, const char *what,
    const char *json, cJSON **out)
{
	cJSON *obj = cJSON_Parse(json), *have = NULL;
	const char *name;
	char *path = NULL;
	int rc, attempts = 0;

	if (out != NULL)
		*out = NULL;
	if (obj == NULL) {
		log_error("POST %s: the %s is not JSON", collection, what);
		return -1;
	}
	name = jstr(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
	rc = k8s_json(k, "POST", collection, json,
	    name != NULL && *name != '\0' ? RETRY_IDEMPOTENT : RETRY_429_ONLY, 0, out, &attempts);
	if (rc == K8S_EXISTS && attempts > 1) {
		char *n = esc(name);

		path = xasprintf("%s/%s", collection, n);
		free(n);
		if (k8s_json(k, "GET", path, NULL, RETRY_IDEMPOTENT, 0, &have, NULL) == 0 &&
		    same_owner(obj, have)) {
			log_info("POST %s: %s %s exists after a retry: an earlier attempt "
			    "created it", collection, what, name);
			rc = 0;
			if (out != NULL) {
				*out = have;
				have = NULL;
			}
		}
	}
	cJSON_Delete(have);
	cJSON_Delete(obj);
	free(path);
	return rc;
}

static char *
ns_path(const char *prefix, const char *ns, const char *rest, const char *name)
{
	char *n = esc(ns), *m = name != NULL ? esc(name) : NULL, *p;

	p = xasprintf("%s/namespaces/%s/%s%s%s", prefix, n, rest, m != NULL ? "/" : "",
	    m != NULL ? m : "");
	free(n);
	free(m);
	return p;
}

#define CORE "/api/v1"
#define COORD "/apis/coordination.k8s.io/v1"

int
k8s_pod_create(struct k8s *k, const char *ns, const char *pod_json, cJSON **out)
{
	char *p = ns_path(CORE, ns, "pods", NULL);
	int rc = k8s_create(k, p, "pod", pod_json, out);

	free(p);
	return rc;
}

int
k8s_pod_get(struct k8s *k, const char *ns, const char *name, cJSON **out)
{
	char *p = ns_path(CORE, ns, "pods", name);
	int rc = k8s_json(k, "GET", p, NULL, RETRY_IDEMPOTENT, 1, out, NULL);

	free(p);
	return rc;
}

int
k8s_pod_list(struct k8s *k, const char *ns, const char *label_selector, cJSON **out)
{
	char *base = ns_path(CORE, ns, "pods", NULL), *sel = NULL, *cont = NULL;
	cJSON *all = NULL, *page = NULL, *items;
	long limit = env_long("STA_K8S_LIST_LIMIT", 500);
	int rc = 0;

	*out = NULL;
	if (label_selector != NULL && *label_selector != '\0')
		sel = esc(label_selector);
	do {
		struct buf p = { 0 };
		cJSON *it, *next;

		buf_printf(&p, "%s?limit=%ld", base, limit);
		if (sel != NULL)
			buf_printf(&p, "&labelSelector=%s", sel);
		if (cont != NULL)
			buf_printf(&p, "&continue=%s", cont);
		rc = k8s_json(k, "GET", p.data, NULL, RETRY_IDEMPOTENT, 0, &page, NULL);
		buf_free(&p);
		free(cont);
		cont = NULL;
		if (rc != 0)
			break;
		const char *c = jstr(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "continue");

		if (c != NULL && *c != '\0')
			cont = esc(c);
		if (all == NULL) {
			all = page;
			page = NULL;
			continue;
		}
		items = cJSON_GetObjectItemCaseSensitive(all, "items");
		next = cJSON_DetachItemFromObjectCaseSensitive(page, "items");
		while (next != NULL && (it = cJSON_DetachItemViaPointer(next, next->child)) != NULL)
			cJSON_AddItemToArray(items, it);
		cJSON_Delete(next);
		cJSON_Delete(page);
		page = NULL;
	} while (cont != NULL);
	if (rc == 0) {
		*out = all;
		all = NULL;
	}
	cJSON_Delete(all);
	free(sel);
	free(base);
	return rc;
}

int
k8s_pod_delete(struct k8s *k, const char *ns, const char *name)
{
	char *p = ns_path(CORE, ns, "pods", name);
	int rc = k8s_json(k, "DELETE", p, NULL, RETRY_IDEMPOTENT, 1, NULL, NULL);

	free(p);
	return rc;
}

int
k8s_pod_log(struct k8s *k, const char *ns, const char *name,
    const char *container, const char *path)
{
	char *base = ns_path(CORE, ns, "pods", name), *p, *c = NULL;
	struct resp r = { .fd = -1 };
	int rc = -1;

	if (container != NULL)
		c = esc(container);
	p = c != NULL ? xasprintf("%s/log?container=%s", base, c) : xasprintf("%s/log", base);
	if ((r.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		log_error("GET %s: %s: %s", p, path, strerror(errno));
		goto out;
	}
	if (k8s_request(k, "GET", p, NULL, RETRY_IDEMPOTENT, &r) == 0)
		rc = k8s_result(k, "GET", p, &r, 0);
	if (close(r.fd) != 0 && rc == 0) {
		log_error("GET %s: %s: %s", p, path, strerror(errno));
		rc = -1;
	}
out:
	buf_free(&r.body);
	free(c);
	free(p);
	free(base);
	return rc;
}

int
k8s_lease_get(struct k8s *k, const char *ns, const char *name, cJSON **out)
{
	char *p = ns_path(COORD, ns, "leases", name);
	int rc = k8s_json(k, "GET", p, NULL, RETRY_IDEMPOTENT, 1, out, NULL);

	free(p);
	return rc;
}

int
k8s_lease_create(struct k8s *k, const char *ns, const char *lease_json, cJSON **out)
{
	char *p = ns_path(COORD, ns, "leases", NULL);
	int rc = k8s_create(k, p, "lease", lease_json, out);

	free(p);
	return rc;
}

int
k8s_lease_update(struct k8s *k, const char *ns, const char *name,
    const char *lease_json, cJSON **out)
{
	char *p = ns_path(COORD, ns, "leases", name);
	int rc;

	/* With a resourceVersion a PUT is idempotent: a retry after a lost
	 * answer meets a 409 (the version moved), which is what the caller
	 * must handle anyway. */
	rc = k8s_json(k, "PUT", p, lease_json, RETRY_IDEMPOTENT, 0, out, NULL);
	free(p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* label values                                                        */

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return 1;
	if (n > LABEL_MAX || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

char *
k8s_label_value(const char *s)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	size_t room = LABEL_MAX - 1 - LABEL_HASH_HEX, start = 0, end;
	struct buf b = { 0 };

	if (label_ok(s))
		return xstrdup(s);
	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	hex[LABEL_HASH_HEX] = '\0';
	while (s[start] != '\0' && !is_alnum(s[start]))
		start++;
	for (size_t i = start; s[i] != '\0' && b.len < room; i++) {
		char c = s[i];

		buf_putc(&b, is_alnum(c) || c == '-' || c == '_' || c == '.' ? c : '-');
	}
	end = b.len;
	while (end > 0 && !is_alnum(b.data[end - 1]))
		end--;
	if (b.data != NULL)
		b.data[end] = '\0';
	b.len = end;
	if (b.len > 0)
		buf_putc(&b, '-');
	buf_puts(&b, hex);
	return buf_detach(&b);
}

const char *
k8s_event_name(enum k8s_event type)
{
	static const char *names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK",
	    "ERROR", "GONE" };

	return (unsigned)type < ARRAY_LEN(names) ? names[type] : "?";
}

/* ------------------------------------------------------------------ */
/* watch: a curl multi handle driven by libev (socket and timer callbacks) */

struct k8s_watch {
	struct k8s *k;
	struct ev_loop *loop;
	char *ns, *selector;
	char *rv;
	k8s_watch_fn fn;
	void *arg;
	CURLM *multi;
	CURL *easy;             /* NULL between connections */
	struct curl_slist *headers;
	char *path;
	struct buf line;        /* the event being received */
	struct buf errbody;     /* a non-200 answer */
	ev_timer curl_timer;    /* CURLMOPT_TIMERFUNCTION */
	ev_timer retry_timer;   /* reconnects */
	int failures;           /* consecutive failed connections */
	int connects;
	int got_event;          /* on this connection */
	int stopped;            /* GONE: no reconnect */
	int busy;               /* inside curl: defer freeing */
	int closing;
};

struct watch_sock {
	ev_io io;
	struct k8s_watch *w;
};

static void watch_free(struct k8s_watch *w);
static void watch_connect(struct k8s_watch *w);

static void
watch_emit(struct k8s_watch *w, enum k8s_event type, const cJSON *obj)
{
	const char *rv = jstr(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");

	if (rv != NULL && type != K8S_EV_ERROR && type != K8S_EV_GONE) {
		free(w->rv);
		w->rv = xstrdup(rv);
	}
	if (!w->closing)
		w->fn(w->arg, type, obj);
}

static void
watch_line(struct k8s_watch *w, const char *line)
{
	cJSON *ev = cJSON_Parse(line);
	const char *type = jstr(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	static const struct { const char *name; enum k8s_event type; } types[] = {
		{ "ADDED", K8S_EV_ADDED }, { "MODIFIED", K8S_EV_MODIFIED },
		{ "DELETED", K8S_EV_DELETED }, { "BOOKMARK", K8S_EV_BOOKMARK },
	};

	if (type == NULL || !cJSON_IsObject(obj)) {
		log_warn("watch %s: an event that is not {type, object}: %.200s", w->path, line);
		goto out;
	}
	w->got_event = 1;
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		if (strcmp(type, types[i].name) == 0) {
			watch_emit(w, types[i].type, obj);
			goto out;
		}
	}
	if (strcmp(type, "ERROR") == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");

		if (cJSON_IsNumber(code) && code->valueint == 410) {
			log_info("watch %s: resourceVersion %s expired (410): relist", w->path, w->rv);
			w->stopped = 1;
			watch_emit(w, K8S_EV_GONE, obj);
		} else {
			log_error("watch %s: ERROR event: %s", w->path,
			    jstr(obj, "message") != NULL ? jstr(obj, "message") : line);
			watch_emit(w, K8S_EV_ERROR, obj);
		}
		goto out;
	}
	log_warn("watch %s: unknown event type %s", w->path, type);
out:
	cJSON_Delete(ev);
}

static size_t
watch_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct k8s_watch *w = arg;
	size_t len = size * n;
	long code = 0;
	char *nl;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		buf_append(&w->errbody, p, len);
		return len;
	}
	buf_append(&w->line, p, len);
	while (!w->stopped && !w->closing && w->line.data != NULL &&
	    (nl = memchr(w->line.data, '\n', w->line.len)) != NULL) {
		size_t used = (size_t)(nl - w->line.data) + 1;

		*nl = '\0';
		if (nl > w->line.data)
			watch_line(w, w->line.data);
		memmove(w->line.data, w->line.data + used, w->line.len - used + 1);
		w->line.len -= used;
	}
	/* Ends the transfer once the caller has what it needs. */
	return w->stopped || w->closing ? 0 : len;
}

static void
watch_on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct k8s_watch *w = t->data;

	(void)loop;
	(void)revents;
	watch_connect(w);
}

static void
watch_schedule(struct k8s_watch *w, long ms)
{
	ev_timer_stop(w->loop, &w->retry_timer);
	ev_timer_set(&w->retry_timer, (double)ms / 1000.0, 0.);
	ev_timer_start(w->loop, &w->retry_timer);
}

/* The transfer has ended: why, and when to reconnect. */
static void
watch_done(struct k8s_watch *w, CURLcode cc)
{
	long code = 0, delay;
	cJSON *st = NULL;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(w->multi, w->easy);
	curl_easy_cleanup(w->easy);
	w->easy = NULL;
	curl_slist_free_all(w->headers);
	w->headers = NULL;
	if (w->stopped || w->closing)
		goto out;
	if (code == 410) {
		st = cJSON_Parse(w->errbody.data != NULL ? w->errbody.data : "");
		log_info("watch %s: HTTP 410: relist", w->path);
		w->stopped = 1;
		watch_emit(w, K8S_EV_GONE, st);
		goto out;
	}
	if (cc == CURLE_OK && code == 200) {
		/* The server ended the watch (timeoutSeconds): go on at once. */
		log_debug("watch %s: ended by the server at resourceVersion %s", w->path, w->rv);
		w->failures = w->got_event ? 0 : w->failures + 1;
	} else {
		w->failures++;
		if (code != 0 && code != 200) {
			st = cJSON_Parse(w->errbody.data != NULL ? w->errbody.data : "");
			log_error("watch %s: HTTP %ld: %s", w->path, code,
			    jstr(st, "message") != NULL ? jstr(st, "message") : "");
			if (st != NULL)
				watch_emit(w, K8S_EV_ERROR, st);
		} else {
			log_warn("watch %s: connection lost (%s); resuming from resourceVersion %s",
			    w->path, curl_easy_strerror(cc), w->rv);
		}
	}
	delay = w->failures == 0 ? (long)randombytes_uniform(100) :
	    backoff_delay(w->k->backoff_ms, w->failures - 1, WATCH_BACKOFF_CAP_MS);
	watch_schedule(w, delay);
out:
	cJSON_Delete(st);
}

static void
watch_check(struct k8s_watch *w)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == w->easy) {
			watch_done(w, m->data.result);
			break;
		}
	}
}

/* Runs curl on fd (or its timeout), then frees the watch if it was closed
 * meanwhile. */
static void
watch_action(struct k8s_watch *w, curl_socket_t fd, int flags)
{
	int running;

	w->busy++;
	curl_multi_socket_action(w->multi, fd, flags, &running);
	if (w->easy != NULL)
		watch_check(w);
	w->busy--;
	if (w->closing && w->busy == 0)
		watch_free(w);
}

static void
watch_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct watch_sock *s = (struct watch_sock *)io;
	int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
	    (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

	(void)loop;
	watch_action(s->w, io->fd, flags);
}

static void
watch_on_curl_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	watch_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int
watch_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct k8s_watch *w = userp;
	struct watch_sock *s = socketp;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(w->loop, &s->io);
			free(s);
			curl_multi_assign(w->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->w = w;
		curl_multi_assign(w->multi, fd, s);
	} else {
		ev_io_stop(w->loop, &s->io);
	}
	ev_io_init(&s->io, watch_on_io, fd, (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(w->loop, &s->io);
	return 0;
}

static int
watch_timer_cb(CURLM *m, long ms, void *userp)
{
	struct k8s_watch *w = userp;

	(void)m;
	ev_timer_stop(w->loop, &w->curl_timer);
	if (ms >= 0) {
		ev_timer_set(&w->curl_timer, (double)ms / 1000.0, 0.);
		ev_timer_start(w->loop, &w->curl_timer);
	}
	return 0;
}

static void
watch_connect(struct k8s_watch *w)
{
	struct buf p = { 0 };
	char *url;

	free(w->path);
	buf_printf(&p, "%s/namespaces/%s/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d",
	    CORE, w->ns, WATCH_TIMEOUT_S);
	if (w->selector != NULL)
		buf_printf(&p, "&labelSelector=%s", w->selector);
	if (w->rv != NULL && *w->rv != '\0')
		buf_printf(&p, "&resourceVersion=%s", w->rv);
	w->path = buf_detach(&p);
	buf_reset(&w->line);
	buf_reset(&w->errbody);
	w->got_event = 0;
	if ((w->easy = curl_easy_init()) == NULL || setup_easy(w->k, w->easy, &w->headers) != 0) {
		log_error("watch %s: cannot connect; retrying", w->path);
		if (w->easy != NULL)
			curl_easy_cleanup(w->easy);
		w->easy = NULL;
		curl_slist_free_all(w->headers);
		w->headers = NULL;
		watch_schedule(w, backoff_delay(w->k->backoff_ms, w->failures++,
		    WATCH_BACKOFF_CAP_MS));
		return;
	}
	url = xasprintf("%s%s", w->k->server, w->path);
	curl_easy_setopt(w->easy, CURLOPT_URL, url);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_on_body);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
	/* No overall timeout: the server ends the watch; a silent dead peer
	 * is caught by the low-speed limit (bookmarks keep it busy) and TCP
	 * keepalive. */
	curl_easy_setopt(w->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_TIME, (long)WATCH_TIMEOUT_S + 60);
	free(url);
	w->connects++;
	curl_multi_add_handle(w->multi, w->easy);
}

struct k8s_watch *
k8s_watch_open(struct k8s *k, struct ev_loop *loop, const char *ns,
    const char *label_selector, const char *resource_version,
    k8s_watch_fn fn, void *arg)
{
	struct k8s_watch *w = xcalloc(1, sizeof(*w));

	w->k = k;
	w->loop = loop;
	w->ns = esc(ns);
	if (label_selector != NULL && *label_selector != '\0')
		w->selector = esc(label_selector);
	w->rv = xstrdup(resource_version != NULL ? resource_version : "");
	w->fn = fn;
	w->arg = arg;
	if ((w->multi = curl_multi_init()) == NULL) {
		log_error("watch pods in %s: curl_multi_init failed", ns);
		free(w->ns);
		free(w->selector);
		free(w->rv);
		free(w);
		return NULL;
	}
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, watch_socket_cb);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, watch_timer_cb);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	ev_timer_init(&w->curl_timer, watch_on_curl_timer, 0., 0.);
	w->curl_timer.data = w;
	ev_timer_init(&w->retry_timer, watch_on_retry, 0., 0.);
	w->retry_timer.data = w;
	watch_connect(w);
	return w;
}

static void
watch_free(struct k8s_watch *w)
{
	ev_timer_stop(w->loop, &w->retry_timer);
	if (w->easy != NULL) {
		curl_multi_remove_handle(w->multi, w->easy);
		curl_easy_cleanup(w->easy);
	}
	curl_slist_free_all(w->headers);
	curl_multi_cleanup(w->multi);
	ev_timer_stop(w->loop, &w->curl_timer);
	buf_free(&w->line);
	buf_free(&w->errbody);
	free(w->path);
	free(w->ns);
	free(w->selector);
	free(w->rv);
	free(w);
}

void
k8s_watch_close(struct k8s_watch *w)
{
	if (w == NULL)
		return;
	w->closing = 1;
	if (w->busy == 0)
		watch_free(w);
}

const char *
k8s_watch_resource_version(const struct k8s_watch *w)
{
	return w->rv;
}

int
k8s_watch_connects(const struct k8s_watch *w)
{
	return w->connects;
}
