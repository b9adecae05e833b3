/*
 * sectoken.c: the standards catalogue and the event decoder (see
 * sectoken.h; sources and rationale in docs/security-tokens.md).
 */
#include "tasks/sectoken.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/keccak.h"
#include "tasks/ethval.h"

#define P(n, t, i, c) {n, t, i, c}
#define SPEC "SecurityTokenStandard/EIP-Spec"
#define UT "Consensys/UniversalToken ERC1400.sol"
#define PM3 "Polymath polymath-core v3 ISecurityToken.sol"
#define E3643 "ERC-3643 (ethereum/ERCs erc-3643.md)"
#define TREX "TokenySolutions/T-REX IToken.sol"

const struct st_event st_events[] = {
	/* ERC-1410: partially fungible tokens */
	{"erc1410", "TransferByPartition", {P("fromPartition", "bytes32", 1, STC_PARTITION),
	    P("operator", "address", 0, STC_OPERATOR), P("from", "address", 1, STC_FROM),
	    P("to", "address", 1, STC_TO), P("value", "uint256", 0, STC_VALUE),
	    P("data", "bytes", 0, STC_NONE), P("operatorData", "bytes", 0, STC_NONE)}, 1,
	    SPEC ", " UT ", " PM3},
	{"erc1410", "ChangedPartition", {P("fromPartition", "bytes32", 1, STC_PARTITION),
	    P("toPartition", "bytes32", 1, STC_TO_PARTITION), P("value", "uint256", 0, STC_VALUE)}, 1,
	    SPEC ", " UT},
	{"erc1410", "AuthorizedOperatorByPartition", {P("partition", "bytes32", 1, STC_PARTITION),
	    P("operator", "address", 1, STC_OPERATOR), P("tokenHolder", "address", 1, STC_FROM)}, 1,
	    SPEC},
	{"erc1410", "RevokedOperatorByPartition", {P("partition", "bytes32", 1, STC_PARTITION),
	    P("operator", "address", 1, STC_OPERATOR), P("tokenHolder", "address", 1, STC_FROM)}, 1,
	    SPEC},
	{"erc1410", "IssuedByPartition", {P("partition", "bytes32", 1, STC_PARTITION),
	    P("operator", "address", 1, STC_OPERATOR), P("to", "address", 1, STC_TO),
	    P("value", "uint256", 0, STC_VALUE), P("data", "bytes", 0, STC_NONE),
	    P("operatorData", "bytes", 0, STC_NONE)}, 1, SPEC " (text), " UT},
	{"erc1410", "IssuedByPartition", {P("partition", "bytes32", 1, STC_PARTITION),
	    P("to", "address", 1, STC_TO), P("value", "uint256", 0, STC_VALUE),
	    P("data", "bytes", 0, STC_NONE)}, 1, SPEC " (interface), " PM3},
	{"erc1410", "RedeemedByPartition", {P("partition", "bytes32", 1, STC_PARTITION),
	    P("operator", "address", 1, STC_OPERATOR), P("from", "address", 1, STC_FROM),
	    P("value", "uint256", 0, STC_VALUE), P("operatorData", "bytes", 0, STC_NONE)}, 1,
	    SPEC " (text), " UT},
	{"erc1410", "RedeemedByPartition", {P("partition", "bytes32", 1, STC_PARTITION),
	    P("operator", "address", 1, STC_OPERATOR), P("from", "address", 1, STC_FROM),
	    P("value", "uint256", 0, STC_VALUE), P("data", "bytes", 0, STC_NONE),
	    P("operatorData", "bytes", 0, STC_NONE)}, 1, SPEC " (interface), " PM3},
	/* ERC-1594: core security token (issuance, redemption) */
	{"erc1594", "Issued", {P("operator", "address", 1, STC_OPERATOR), P("to", "address", 1, STC_TO),
	    P("value", "uint256", 0, STC_VALUE), P("data", "bytes", 0, STC_NONE)}, 1,
	    SPEC ", " UT ", " PM3},
	{"erc1594", "Redeemed", {P("operator", "address", 1, STC_OPERATOR),
	    P("from", "address", 1, STC_FROM), P("value", "uint256", 0, STC_VALUE),
	    P("data", "bytes", 0, STC_NONE)}, 1, SPEC},
	/* ERC-1643: documents */
	{"erc1643", "DocumentUpdated", {P("name", "bytes32", 1, STC_DOC_NAME),
	    P("uri", "string", 0, STC_DOC_URI), P("documentHash", "bytes32", 0, STC_DOC_HASH)}, 1,
	    SPEC ", " UT ", " PM3},
	{"erc1643", "DocumentRemoved", {P("name", "bytes32", 1, STC_DOC_NAME),
	    P("uri", "string", 0, STC_DOC_URI), P("documentHash", "bytes32", 0, STC_DOC_HASH)}, 1,
	    SPEC ", " UT ", " PM3},
	/* ERC-1644: controller (forced) operations */
	{"erc1644", "ControllerTransfer", {P("controller", "address", 0, STC_OPERATOR),
	    P("from", "address", 1, STC_FROM), P("to", "address", 1, STC_TO),
	    P("value", "uint256", 0, STC_VALUE), P("data", "bytes", 0, STC_NONE),
	    P("operatorData", "bytes", 0, STC_NONE)}, 1, SPEC ", " PM3},
	{"erc1644", "ControllerRedemption", {P("controller", "address", 0, STC_OPERATOR),
	    P("tokenHolder", "address", 1, STC_FROM), P("value", "uint256", 0, STC_VALUE),
	    P("data", "bytes", 0, STC_NONE), P("operatorData", "bytes", 0, STC_NONE)}, 1,
	    SPEC ", " PM3},
	/* ERC-3643 (T-REX) */
	{"erc3643", "UpdatedTokenInformation", {P("newName", "string", 1, STC_NONE),
	    P("newSymbol", "string", 1, STC_NONE), P("newDecimals", "uint8", 0, STC_NONE),
	    P("newVersion", "string", 0, STC_NONE), P("newOnchainID", "address", 1, STC_NONE)}, 1,
	    TREX},
	{"erc3643", "UpdatedTokenInformation", {P("newName", "string", 0, STC_NONE),
	    P("newSymbol", "string", 0, STC_NONE), P("newDecimals", "uint8", 0, STC_NONE),
	    P("newVersion", "string", 0, STC_NONE), P("newOnchainID", "address", 0, STC_NONE)}, 1,
	    E3643},
	{"erc3643", "IdentityRegistryAdded", {P("identityRegistry", "address", 1, STC_NONE)}, 1,
	    E3643 ", " TREX},
	{"erc3643", "ComplianceAdded", {P("compliance", "address", 1, STC_NONE)}, 1, E3643 ", " TREX},
	{"erc3643", "RecoverySuccess", {P("lostWallet", "address", 1, STC_FROM),
	    P("newWallet", "address", 1, STC_TO), P("investorOnchainID", "address", 1, STC_NONE)}, 1,
	    TREX},
	{"erc3643", "RecoverySuccess", {P("lostWallet", "address", 0, STC_FROM),
	    P("newWallet", "address", 0, STC_TO), P("investorOnchainID", "address", 0, STC_NONE)}, 1,
	    E3643},
	{"erc3643", "AddressFrozen", {P("userAddress", "address", 1, STC_FROM),
	    P("isFrozen", "bool", 1, STC_NONE), P("owner", "address", 1, STC_OPERATOR)}, 1,
	    E3643 ", " TREX},
	{"erc3643", "TokensFrozen", {P("userAddress", "address", 1, STC_FROM),
	    P("amount", "uint256", 0, STC_VALUE)}, 1, E3643 ", " TREX},
	{"erc3643", "TokensUnfrozen", {P("userAddress", "address", 1, STC_FROM),
	    P("amount", "uint256", 0, STC_VALUE)}, 1, E3643 ", " TREX},
	{"erc3643", "IdentityRegistered", {P("investorAddress", "address", 1, STC_FROM),
	    P("identity", "address", 1, STC_NONE)}, 1, TREX " (IIdentityRegistry)"},
	{"erc3643", "CountryUpdated", {P("investorAddress", "address", 1, STC_FROM),
	    P("country", "uint16", 1, STC_NONE)}, 1, TREX " (IIdentityRegistry)"},
	/* For comparison: not decoded into security_token_events. */
	{"erc20", "Transfer", {P("from", "address", 1, STC_FROM), P("to", "address", 1, STC_TO),
	    P("value", "uint256", 0, STC_VALUE)}, 0, "EIP-20"},
	{"erc20", "Approval", {P("owner", "address", 1, STC_FROM), P("spender", "address", 1, STC_TO),
	    P("value", "uint256", 0, STC_VALUE)}, 0, "EIP-20"},
	{"erc721", "Transfer", {P("from", "address", 1, STC_FROM), P("to", "address", 1, STC_TO),
	    P("tokenId", "uint256", 1, STC_VALUE)}, 0, "EIP-721"},
	{"erc1155", "TransferSingle", {P("operator", "address", 1, STC_OPERATOR),
	    P("from", "address", 1, STC_FROM), P("to", "address", 1, STC_TO),
	    P("id", "uint256", 0, STC_NONE), P("value", "uint256", 0, STC_VALUE)}, 0, "EIP-1155"},
};
const size_t st_nevents = sizeof(st_events) / sizeof(st_events[0]);

static const char *const erc20_sel[] = {"totalSupply()", "balanceOf(address)",
	"transfer(address,uint256)", "transferFrom(address,address,uint256)",
	"approve(address,uint256)", "allowance(address,address)", NULL};
static const char *const erc721_sel[] = {"balanceOf(address)", "ownerOf(uint256)",
	"approve(address,uint256)", "getApproved(uint256)", "setApprovalForAll(address,bool)",
	"isApprovedForAll(address,address)", "transferFrom(address,address,uint256)",
	"safeTransferFrom(address,address,uint256)", NULL};
static const char *const erc1155_sel[] = {"balanceOf(address,uint256)",
	"balanceOfBatch(address[],uint256[])", "setApprovalForAll(address,bool)",
	"isApprovedForAll(address,address)", "safeTransferFrom(address,address,uint256,uint256,bytes)",
	"safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)", NULL};
static const char *const erc1410_sel[] = {"balanceOfByPartition(bytes32,address)",
	"partitionsOf(address)", "transferByPartition(bytes32,address,uint256,bytes)", NULL};
static const char *const erc1594_sel[] = {"isIssuable()", "issue(address,uint256,bytes)",
	"redeem(uint256,bytes)", "transferWithData(address,uint256,bytes)", NULL};
static const char *const erc1643_sel[] = {"getDocument(bytes32)",
	"setDocument(bytes32,string,bytes32)", "getAllDocuments()", NULL};
static const char *const erc1644_sel[] = {"isControllable()",
	"controllerTransfer(address,address,uint256,bytes,bytes)",
	"controllerRedeem(address,uint256,bytes,bytes)", NULL};
static const char *const erc1400_sel[] = {"balanceOfByPartition(bytes32,address)",
	"partitionsOf(address)", "transferByPartition(bytes32,address,uint256,bytes)",
	"isIssuable()", "issue(address,uint256,bytes)", "redeem(uint256,bytes)",
	"getDocument(bytes32)", "setDocument(bytes32,string,bytes32)", "isControllable()",
	"controllerTransfer(address,address,uint256,bytes,bytes)", NULL};
static const char *const erc3643_sel[] = {"identityRegistry()", "compliance()", "onchainID()",
	"isFrozen(address)", "getFrozenTokens(address)", "forcedTransfer(address,address,uint256)",
	"recoveryAddress(address,address,address)", "setAddressFrozen(address,bool)", NULL};

const struct st_standard st_standards[] = {
	{"erc20", "ERC-20 fungible token", "EIP-20", erc20_sel, 0},
	{"erc721", "ERC-721 non-fungible token", "EIP-721", erc721_sel, 0},
	{"erc1155", "ERC-1155 multi token", "EIP-1155", erc1155_sel, 0},
	{"erc1400", "ERC-1400 security token (1410 + 1594 + 1643 + 1644)", SPEC, erc1400_sel, 1},
	{"erc1410", "ERC-1410 partially fungible token (partitions)", SPEC, erc1410_sel, 1},
	{"erc1594", "ERC-1594 core security token (issuance, redemption)", SPEC, erc1594_sel, 1},
	{"erc1643", "ERC-1643 document management", SPEC, erc1643_sel, 1},
	{"erc1644", "ERC-1644 controller token operations", SPEC, erc1644_sel, 1},
	{"erc3643", "ERC-3643 T-REX permissioned token", E3643 ", " TREX, erc3643_sel, 1},
};
const size_t st_nstandards = sizeof(st_standards) / sizeof(st_standards[0]);

int
st_nparams(const struct st_event *e)
{
	int n = 0;

	while (n < ST_MAX_PARAMS && e->params[n].name)
		n++;
	return n;
}

int
st_nindexed(const struct st_event *e)
{
	int n = 0;

	for (int i = 0; i < st_nparams(e); i++)
		n += e->params[i].indexed;
	return n;
}

void
st_event_signature(const struct st_event *e, struct buf *b)
{
	buf_printf(b, "%s(", e->name);
	for (int i = 0; i < st_nparams(e); i++)
		buf_printf(b, "%s%s", i ? "," : "", e->params[i].type);
	buf_putc(b, ')');
}

void
st_event_topic(const struct st_event *e, char out[67])
{
	struct buf sig = {0};

	st_event_signature(e, &sig);
	keccak256_hex(sig.data, out);
	buf_free(&sig);
}

static int
is_dynamic(const char *type)
{
	return strcmp(type, "bytes") == 0 || strcmp(type, "string") == 0;
}

/* A 32-byte word (as hex text, "0x" + 64) for a static type; -1 if the
 * word does not hold a value of that type. */
static int
static_value(const char *type, const char *word, cJSON **out)
{
	static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";

	if (strcmp(type, "address") == 0) {
		char *a;

		if (strncmp(word + 2, zeros, 24) != 0 || (a = ethval_word_to_address(word)) == NULL)
			return -1;
		*out = cJSON_CreateString(a);
		free(a);
	} else if (strcmp(type, "bool") == 0) {
		if (strncmp(word + 2, zeros, 60) != 0 || strncmp(word + 62, "000", 3) != 0 ||
		    (word[65] != '0' && word[65] != '1'))
			return -1;
		*out = cJSON_CreateBool(word[65] == '1');
	} else if (strcmp(type, "bytes32") == 0) {
		char *lower = xstrdup(word);

		for (char *p = lower; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
		*out = cJSON_CreateString(lower);
		free(lower);
	} else {
		/* uint8, uint16, uint256: the high bytes must be zero */
		size_t bits = strcmp(type, "uint8") == 0 ? 8 : strcmp(type, "uint16") == 0 ? 16 : 256;
		char *dec;

		if (strncmp(word + 2, zeros, 64 - bits / 4) != 0 && bits < 256)
			return -1;
		dec = ethval_dec(word);
		if (dec == NULL)
			return -1;
		*out = bits < 256 ? cJSON_CreateNumber(strtod(dec, NULL)) : cJSON_CreateString(dec);
		free(dec);
	}
	return 0;
}

/* Decodes the non-indexed parameters from ABI-encoded data into args. */
static int
decode_data(const struct st_event *e, const char *data, cJSON *args, char **why)
{
	unsigned char *d;
	size_t len, head = 0;
	int rc = -1;

	if (ethval_unhex(data, &d, &len) < 0) {
		*why = xstrdup("data is not hex");
		return -1;
	}
	for (int i = 0; i < st_nparams(e); i++) {
		const struct st_param *p = &e->params[i];
		char word[67];
		cJSON *v = NULL;

		if (p->indexed)
			continue;
		if (head + 32 > len) {
			*why = xasprintf("data too short for %s", p->name);
			goto out;
		}
		word[0] = '0';
		word[1] = 'x';
		hex_encode(d + head, 32, word + 2);
		if (is_dynamic(p->type)) {
			uint64_t off, n;

			if (ethval_u64(word, &off) < 0 || off + 32 > len) {
				*why = xasprintf("bad offset for %s", p->name);
				goto out;
			}
			hex_encode(d + off, 32, word + 2);
			if (ethval_u64(word, &n) < 0 || off + 32 + n > len) {
				*why = xasprintf("%s runs past the data", p->name);
				goto out;
			}
			if (strcmp(p->type, "string") == 0) {
				char *s;

				if (memchr(d + off + 32, 0, n) != NULL || !utf8_valid(d + off + 32, n)) {
					*why = xasprintf("%s is not UTF-8 text", p->name);
					goto out;
				}
				s = xstrndup((const char *)d + off + 32, n);
				v = cJSON_CreateString(s);
				free(s);
			} else {
				struct buf hex = {0};

				buf_puts(&hex, "0x");
				for (uint64_t k = 0; k < n; k++)
					buf_printf(&hex, "%02x", d[off + 32 + k]);
				v = cJSON_CreateString(hex.data);
				buf_free(&hex);
			}
		} else if (static_value(p->type, word, &v) < 0) {
			*why = xasprintf("%s is not a %s", p->name, p->type);
			goto out;
		}
		cJSON_AddItemToObject(args, p->name, v);
		head += 32;
	}
	rc = 0;
out:
	free(d);
	return rc;
}

int
st_decode(const struct strv *topics, const char *data, const struct st_event **event,
    cJSON **args, char **why)
{
	int matched = 0;

	*args = NULL;
	*why = NULL;
	if (topics->n == 0)
		return 0;
	for (size_t i = 0; i < st_nevents; i++) {
		const struct st_event *e = &st_events[i];
		char topic[67];
		size_t t = 1;
		cJSON *a;

		if (!e->security)
			continue;
		st_event_topic(e, topic);
		if (strcasecmp(topic, topics->v[0]) != 0)
			continue;
		matched = 1;
		if ((size_t)st_nindexed(e) + 1 != topics->n)
			continue;	/* perhaps a variant with other indexing */
		a = cJSON_CreateObject();
		for (int k = 0; k < st_nparams(e); k++) {
			const struct st_param *p = &e->params[k];
			cJSON *v = NULL;

			if (!p->indexed)
				continue;
			/* an indexed string or bytes is stored as its hash */
			if (is_dynamic(p->type) ? (v = cJSON_CreateString(topics->v[t])) == NULL :
			    static_value(p->type, topics->v[t], &v) < 0) {
				free(*why);
				*why = xasprintf("topic %zu is not a %s", t, p->type);
				cJSON_Delete(a);
				a = NULL;
				break;
			}
			cJSON_AddItemToObject(a, p->name, v);
			t++;
		}
		if (a == NULL)
			continue;
		free(*why);
		*why = NULL;
		if (decode_data(e, data, a, why) < 0) {
			cJSON_Delete(a);
			continue;
		}
		/* parameters in signature order */
		*args = cJSON_CreateObject();
		for (int k = 0; k < st_nparams(e); k++)
			cJSON_AddItemToObject(*args, e->params[k].name,
			    cJSON_DetachItemFromObjectCaseSensitive(a, e->params[k].name));
		cJSON_Delete(a);
		*event = e;
		return 1;
	}
	if (!matched)
		return 0;
	if (*why == NULL)
		*why = xasprintf("%zu topics: no variant of the event has that many indexed parameters",
		    topics->n);
	return -1;
}

void
st_standards_of(const struct strv *sighashes, struct buf *b)
{
	int first = 1;

	for (size_t s = 0; s < st_nstandards; s++) {
		int all = 1;

		for (size_t k = 0; all && st_standards[s].selectors[k]; k++) {
			char sel[11];
			int found = 0;

			keccak_selector(st_standards[s].selectors[k], sel);
			for (size_t i = 0; !found && i < sighashes->n; i++)
				found = strcmp(sighashes->v[i], sel) == 0;
			all = found;
		}
		if (all) {
			buf_printf(b, "%s%s", first ? "" : ",", st_standards[s].id);
			first = 0;
		}
	}
	if (b->data == NULL)
		buf_puts(b, "");
}
