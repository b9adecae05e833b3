/*
 * k8s.h: a small Kubernetes API client on libcurl and cJSON: pods
 * (create, get, list, delete, log, watch) and coordination.k8s.io/v1
 * Leases, which is what the pod executor, its adoption and leader
 * election need.
 *
 * Configuration (k8s_open): a kubeconfig (the named file, else $KUBECONFIG,
 * first existing file of its colon-separated list, else ~/.kube/config)
 * with its current-context or an explicit context: server,
 * certificate-authority(-data), token, tokenFile,
 * client-certificate(-data), client-key(-data) and exec credential plugins
 * (client.authentication.k8s.io ExecCredential: the command is run with
 * its args and env, status.token is used until status.expirationTimestamp,
 * then the command is run again; also on a 401).  Without a kubeconfig and
 * with KUBERNETES_SERVICE_HOST set, the in-cluster configuration: token,
 * ca.crt and namespace from /var/run/secrets/kubernetes.io/serviceaccount
 * ($STA_K8S_SA_DIR overrides the folder); the token file is re-read every
 * minute since bound service-account tokens rotate.  TLS is always
 * verified: a kubeconfig with insecure-skip-tls-verify or an http:// server
 * is refused.
 *
 * Requests are blocking (libcurl easy handles, 10 s connect and 60 s
 * request timeouts).  Idempotent ones (GET, PUT with resourceVersion,
 * DELETE) are retried on transport errors, 429 (honouring Retry-After, at
 * most 60 s), and 5xx, with exponential backoff and full jitter
 * ($STA_K8S_RETRIES retries, default 5; first delay $STA_K8S_BACKOFF_MS,
 * default 200 ms, capped at 10 s).  A create is retried the same way only
 * when the object has a metadata.name (never with generateName, where a
 * retry could make a second object): if a retry then meets 409
 * AlreadyExists, an earlier attempt may have created it, so the object is
 * read back and taken as ours when every label we sent (and a Lease's
 * spec.holderIdentity) matches; otherwise K8S_EXISTS.  A 429 is retried
 * for every method since the server did not act on the request.
 *
 * Every error is printed once, naming the request (method and path) and
 * the API's Status message.  Functions that return a cJSON object give it
 * to the caller, who frees it with cJSON_Delete.
 *
 * The watch (k8s_watch_open) runs on a libev loop through a curl multi
 * handle with socket and timer callbacks: nothing blocks.
 */
#ifndef STA_K8S_H
#define STA_K8S_H

#include <cjson/cJSON.h>
#include <ev.h>

/* Results besides 0 (ok) and -1 (error, already printed). */
#define K8S_NOT_FOUND (-2)  /* 404 */
#define K8S_CONFLICT (-3)   /* 409 Conflict: resourceVersion is stale */
#define K8S_EXISTS (-4)     /* 409 AlreadyExists on create */
#define K8S_GONE (-5)       /* 410: resourceVersion too old, relist */

struct k8s;

/* A client.  kubeconfig NULL: $KUBECONFIG, ~/.kube/config, then in-cluster
 * when KUBERNETES_SERVICE_HOST is set (and no kubeconfig file exists);
 * context NULL: the current-context.  NULL after printing why. */
struct k8s *k8s_open(const char *kubeconfig, const char *context);
/* The in-cluster configuration only.  NULL after printing why. */
struct k8s *k8s_open_incluster(void);
void k8s_close(struct k8s *k);
/* The configured namespace (the context's, the service account's, or
 * "default").  Owned by k. */
const char *k8s_namespace(const struct k8s *k);

/* The HTTP status of the last request (0: no answer: a transport error)
 * and why it failed ("" when it did not).  Owned by k. */
long k8s_last_status(const struct k8s *k);
const char *k8s_last_error(const struct k8s *k);
/* Overrides $STA_K8S_RETRIES for this client: 0 makes every request one
 * attempt, for callers on an event loop that back off on their own. */
void k8s_set_retries(struct k8s *k, int retries);
/* Caps each blocking request (connect included) at ms instead of 60 s, for
 * callers on an event loop that must not stall (0: back to 60 s). */
void k8s_set_timeout(struct k8s *k, long ms);
/* This process's identity towards the API, on its pods and leases:
 * $POD_NAME (the downward API), else hostname-pid.  Caller frees. */
char *k8s_identity(void);

/* Pods.  *out (may be NULL when not wanted) is the API's object. */
int k8s_pod_create(struct k8s *k, const char *ns, const char *pod_json, cJSON **out);
int k8s_pod_get(struct k8s *k, const char *ns, const char *name, cJSON **out);
/* The PodList of every page (items of all pages, metadata.resourceVersion
 * of the first, which is where a watch starts); selector may be NULL. */
int k8s_pod_list(struct k8s *k, const char *ns, const char *label_selector, cJSON **out);
/* K8S_NOT_FOUND when there is no such pod (also when a retry finds the
 * first attempt's deletion done). */
int k8s_pod_delete(struct k8s *k, const char *ns, const char *name);
/* The log of the pod's container (NULL: its only one) into path,
 * truncated first (and again before a retry). */
int k8s_pod_log(struct k8s *k, const char *ns, const char *name,
    const char *container, const char *path);

/* Leases (coordination.k8s.io/v1).  Update sends metadata.resourceVersion
 * as given in lease_json: K8S_CONFLICT when another writer got there
 * first (not retried: the caller re-reads and decides). */
int k8s_lease_get(struct k8s *k, const char *ns, const char *name, cJSON **out);
int k8s_lease_create(struct k8s *k, const char *ns, const char *lease_json, cJSON **out);
int k8s_lease_update(struct k8s *k, const char *ns, const char *name,
    const char *lease_json, cJSON **out);

/* A watch on pods.  Events arrive on the loop: ADDED, MODIFIED, DELETED,
 * BOOKMARK (only its resourceVersion matters), ERROR (a Status other than
 * 410), and GONE: the resourceVersion expired (HTTP 410 or an ERROR event
 * with code 410); the watch has stopped and the caller relists and opens a
 * new one from the list's resourceVersion.  A connection that ends or
 * drops is reopened from the last resourceVersion seen, after a backoff
 * with jitter.  object is only valid during the call. */
enum k8s_event {
	K8S_EV_ADDED,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR,
	K8S_EV_GONE,
};
typedef void (*k8s_watch_fn)(void *arg, enum k8s_event type, const cJSON *object);

struct k8s_watch;

/* Starts watching pods in ns matching label_selector (may be NULL) from
 * resource_version (NULL or "": from now, with ADDED for existing pods).
 * k must outlive the watch.  NULL after printing why. */
struct k8s_watch *k8s_watch_open(struct k8s *k, struct ev_loop *loop,
    const char *ns, const char *label_selector, const char *resource_version,
    k8s_watch_fn fn, void *arg);
/* Stops and frees the watch; safe to call from its own callback (it is
 * freed once the callback returns). */
void k8s_watch_close(struct k8s_watch *w);
/* The last resourceVersion seen (owned by w; "" before any). */
const char *k8s_watch_resource_version(const struct k8s_watch *w);
/* How many times the connection has been (re)opened. */
int k8s_watch_connects(const struct k8s_watch *w);

/* A valid label value for any string (caller frees): s itself when it is
 * already one (at most 63 characters of [-_.A-Za-z0-9], alphanumeric at
 * both ends, or empty); otherwise its valid characters (others become
 * '-'), cut to leave room, trimmed to alphanumeric ends, then "-" and 10
 * hex digits of s's SHA-256, so distinct strings stay distinct. */
char *k8s_label_value(const char *s);

/* The event's name ("ADDED", ...). */
const char *k8s_event_name(enum k8s_event type);

#endif
