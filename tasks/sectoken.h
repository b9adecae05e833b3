/*
 * sectoken.h: the security-token standards catalogue (docs/security-
 * tokens.md): for each standard its events (with which parameters are
 * indexed) and the function selectors that identify it in bytecode, and
 * the decoder of catalogued events.  Topic hashes and selectors are
 * computed from the signatures (Keccak-256), never typed in.
 */
#ifndef STA_SECTOKEN_H
#define STA_SECTOKEN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/util.h"

/* Where a decoded parameter goes in a security_token_events row. */
enum st_column {
	STC_NONE, STC_FROM, STC_TO, STC_OPERATOR, STC_PARTITION, STC_TO_PARTITION, STC_VALUE,
	STC_DOC_NAME, STC_DOC_URI, STC_DOC_HASH,
};

struct st_param {
	const char *name;
	const char *type;	/* address, uint256, uint8, uint16, bool, bytes32, bytes, string */
	int indexed;
	enum st_column column;
};

#define ST_MAX_PARAMS 7

struct st_event {
	const char *standard;	/* "erc1410", "erc3643", ... */
	const char *name;
	struct st_param params[ST_MAX_PARAMS];
	int security;		/* decoded into security_token_events */
	const char *source;	/* where the signature and indexing come from */
};

struct st_standard {
	const char *id;
	const char *title;
	const char *source;
	const char *const *selectors;	/* function signatures, NULL-terminated */
	int security;
};

extern const struct st_event st_events[];
extern const size_t st_nevents;
extern const struct st_standard st_standards[];
extern const size_t st_nstandards;

/* "Name(type,type,...)" into b. */
void st_event_signature(const struct st_event *e, struct buf *b);
/* topic0 of the event, "0x" + 64 hex digits. */
void st_event_topic(const struct st_event *e, char out[67]);
int st_nparams(const struct st_event *e);
int st_nindexed(const struct st_event *e);

/* Decodes a log (address, topics, data) when its topic0 and topic count
 * match a catalogued security event.  Returns 1 with *event and *args set
 * (a JSON object of every parameter, caller frees), 0 when it is not a
 * catalogued security event, -1 when topic0 matches but the log is
 * malformed (wrong topic count, short or bad data): *why says how. */
int st_decode(const struct strv *topics, const char *data, const struct st_event **event,
    cJSON **args, char **why);

/* Standards whose every selector is among sighashes (sorted "0x..."
 * strings), comma-separated into b ("" when none). */
void st_standards_of(const struct strv *sighashes, struct buf *b);

#endif
