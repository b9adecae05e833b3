#!/usr/bin/env bash
# devnet: devnet/start.sh brings up anvil with the generated history, and
# the generator's record (devnet/generate.mjs) agrees with what cast, an
# independent client, reads from the chain: blocks and timestamps per UTC
# day, transaction order and status, ERC-20 balances and supplies as sums
# of the recorded transfers, ERC-721 owners, token metadata (bytes32 names
# too), code at every created address including nested creates, a nested
# create in trace_block.  A second start gives the same block hashes and
# the same record; a running devnet is not started twice; stop.sh ends it.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

cast=$STA_SRCDIR/node_modules/.bin/cast
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node is not installed"
	exit 0
fi
if [ ! -x "$cast" ] || [ ! -x "$STA_SRCDIR/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ]; then
	echo "1..0 # SKIP anvil or cast missing from node_modules (npm ci)"
	exit 0
fi

start() { "$STA_SRCDIR/devnet/start.sh" 0 "$1" 2>"$1.err"; }
stop() { "$STA_SRCDIR/devnet/stop.sh" "$1"; }

# rec FILE EXPR: evaluates a JavaScript expression over the record r;
# arrays print one element a line.
rec() {
	node -e '
		const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const txs = r.blocks.flatMap((b) => b.transactions.map((t) => ({ ...t, block: b.number })));
		const v = eval(process.argv[2]);
		console.log(Array.isArray(v) ? v.join("\n") : String(v));' "$1" "$2"
}

# json EXPR FILE...: the same over each JSON file j (cast output), in turn.
json() {
	node -e '
		for (const f of process.argv.slice(2)) {
			const j = JSON.parse(require("fs").readFileSync(f, "utf8"));
			const v = eval(process.argv[1]);
			console.log(Array.isArray(v) ? v.join("\n") : String(v));
		}' "$@"
}

# ---- first start ----
one=$T/one
url=$(start "$one")
is "start.sh succeeds" "$?" 0
check "start.sh prints only the RPC URL" grep -Eqx 'http://127\.0\.0\.1:[0-9]+' <<<"$url"
pid=$(cat "$one/anvil.pid" 2>/dev/null)
t_pids+=("${pid:-0}")
check "anvil runs under the pid in anvil.pid" kill -0 "${pid:-0}"
check "anvil's log is in DATADIR/anvil.log" grep -q "Listening on 127.0.0.1" "$one/anvil.log"
is "DATADIR/url holds the URL" "$(cat "$one/url" 2>/dev/null)" "$url"
r1=$one/record.json
check "the record exists" test -s "$r1"
[ -s "$r1" ] || { cat "$one.err" | sed 's/^/# /'; done_testing; exit 1; }

"$STA_SRCDIR/devnet/start.sh" 0 "$one" >/dev/null 2>"$T/again.err"
is "a second start on a running DATADIR is refused" "$?" 1

is "chain id (cast) is the recorded one" "$("$cast" chain-id --rpc-url "$url")" "$(rec "$r1" r.chain.chain_id)"
is "the record's chain id is 31337" "$(rec "$r1" r.chain.chain_id)" 31337
head=$("$cast" block-number --rpc-url "$url")
is "head block (cast) is the record's last block" "$head" "$(rec "$r1" 'r.blocks[r.blocks.length - 1].number')"

# Every block as cast sees it (with full transactions), and its receipts.
mkdir -p "$one/chain"
for n in $(seq 0 "$head"); do
	"$cast" rpc eth_getBlockByNumber "$(printf '0x%x' "$n")" true --rpc-url "$url" >"$one/chain/block$n.json"
	"$cast" rpc eth_getBlockReceipts "$(printf '0x%x' "$n")" --rpc-url "$url" >"$one/chain/receipts$n.json"
done
# chain_blocks EXPR: EXPR over each block j, in block order.
chain_blocks() {
	json "$1" $(for n in $(seq 0 "$head"); do echo "$one/chain/block$n.json"; done)
}

is "block timestamps (cast) are the recorded ones" \
	"$(chain_blocks '`${Number(j.number)} ${Number(j.timestamp)}`')" \
	"$(rec "$r1" 'r.blocks.map((b) => `${b.number} ${b.timestamp}`)')"
days_chain=$(chain_blocks 'new Date(Number(j.timestamp) * 1000).toISOString().slice(0, 10)' | uniq -c | awk '{print $2 ":" $1}')
is "blocks per UTC day (cast) are the recorded ones" "$days_chain" "$(rec "$r1" 'r.days.map((d) => `${d.date}:${d.block_count}`)')"
is "history covers 4 UTC days from 2024-03-01" "$(echo "$days_chain" | cut -d: -f1 | tr '\n' ' ')" \
	"2024-03-01 2024-03-02 2024-03-03 2024-03-04 "
is "every day has an empty block and several busy ones (record)" \
	"$(rec "$r1" 'r.days.filter((d) => { const bs = r.blocks.filter((b) => b.date === d.date); return bs.some((b) => b.transactions.length === 0) && bs.filter((b) => b.transactions.length >= 3).length >= 3; }).length')" 4
is "days end with a block at 23:59:59, the genesis and the next days start at 00:00:00 (cast)" \
	"$(chain_blocks 'new Date(Number(j.timestamp) * 1000).toISOString().slice(11, 19)' | grep -e '^23:59:59$' -e '^00:00:00$' | tr '\n' ' ')" \
	"00:00:00 23:59:59 00:00:00 23:59:59 00:00:00 23:59:59 00:00:00 23:59:59 "
is "transactions and their order per block (cast) are the recorded ones" \
	"$(chain_blocks '`${Number(j.number)}: ${j.transactions.map((t) => t.hash).join(",")}`')" \
	"$(rec "$r1" 'r.blocks.map((b) => `${b.number}: ${b.transactions.map((t) => t.hash).join(",")}`)')"
receipts=$(json 'j.map((x) => `${x.transactionHash} ${Number(x.status)}`)' $(for n in $(seq 0 "$head"); do echo "$one/chain/receipts$n.json"; done) | grep .)
is "each transaction's status (cast receipts) is the recorded one" "$receipts" "$(rec "$r1" 'txs.map((t) => `${t.hash} ${t.status}`)')"
is "each day has a reverted transaction (cast receipts, record)" \
	"$(rec "$r1" 'r.days.filter((d) => txs.some((t) => t.status === 0 && r.blocks[t.block].date === d.date)).length') $(grep -c ' 0$' <<<"$receipts")" \
	"4 $(rec "$r1" 'txs.filter((t) => t.status === 0).length')"
is "transaction senders, recipients, values and types (cast) are the recorded ones" \
	"$(chain_blocks 'j.transactions.map((t) => `${t.from} ${t.to} ${BigInt(t.value)} ${Number(t.type)}`)' | grep .)" \
	"$(rec "$r1" 'txs.map((t) => `${t.from} ${t.to} ${t.value} ${t.type}`)')"
is "transaction types 0, 1 and 2 all occur (record)" "$(rec "$r1" '[...new Set(txs.map((t) => t.type))].sort().join(" ")')" "0 1 2"

# ERC-20: balances and supply from the sums of the recorded transfers.
expect20=$(rec "$r1" '
	(() => {
		const out = [];
		for (const c of r.contracts.filter((c) => c.standards.includes("erc20"))) {
			const bal = new Map();
			let supply = 0n;
			for (const t of txs.flatMap((t) => t.token_transfers).filter((x) => x.token_address === c.address)) {
				const v = BigInt(t.value);
				if (t.from === "0x0000000000000000000000000000000000000000") supply += v;
				else bal.set(t.from, (bal.get(t.from) || 0n) - v);
				if (t.to === "0x0000000000000000000000000000000000000000") supply -= v;
				else bal.set(t.to, (bal.get(t.to) || 0n) + v);
			}
			const word = (v) => "0x" + v.toString(16).padStart(64, "0");
			out.push(`${c.address} totalSupply() - ${word(supply)}`);
			for (const [h, v] of bal) out.push(`${c.address} balanceOf(address) ${h} ${word(v)}`);
		}
		return out;
	})()')
bad=
n20=0
while read -r token fn arg want; do
	if [ "$arg" = - ]; then got=$("$cast" call "$token" "$fn" --rpc-url "$url")
	else got=$("$cast" call "$token" "$fn" "$arg" --rpc-url "$url"); fi
	[ "$got" = "$want" ] || bad+="$token $fn $arg: chain $got, transfers $want; "
	n20=$((n20 + 1))
done <<<"$expect20"
is "ERC-20 balances and supplies (cast) equal the sums of the recorded transfers ($n20 reads)" "$bad" ""
check "the ERC-20 checks cover 7 tokens (security tokens too) and 20 holder balances" \
	test "$(grep -c totalSupply <<<"$expect20")" -eq 7 -a "$(grep -c balanceOf <<<"$expect20")" -ge 20

# ERC-721: the owner of each token is the recipient of its last transfer.
expect721=$(rec "$r1" '
	(() => {
		const own = new Map();
		for (const t of txs.flatMap((t) => t.token_transfers).filter((x) => x.standard === "erc721")) own.set(`${t.token_address} ${t.token_id}`, t.to);
		return [...own].map(([k, v]) => `${k} ${v}`);
	})()')
bad=
burned=0
while read -r token id want; do
	got=$("$cast" call "$token" "ownerOf(uint256)(address)" "$id" --rpc-url "$url" 2>/dev/null) || got=none
	got=$(tr 'A-F' 'a-f' <<<"$got")
	if [ "$want" = 0x0000000000000000000000000000000000000000 ]; then want=none; burned=$((burned + 1)); fi
	[ "$got" = "$want" ] || bad+="$token #$id: chain $got, transfers $want; "
done <<<"$expect721"
is "ERC-721 owners (cast) follow the recorded transfers ($(wc -l <<<"$expect721") tokens, $burned burned)" "$bad" ""

# Token metadata, including the bytes32 name and symbol.
bad=
while read -r addr kind name symbol decimals; do
	if [ "$kind" = erc20_bytes32 ]; then
		got_name=$("$cast" parse-bytes32-string "$("$cast" call "$addr" 'name()' --rpc-url "$url")")
		got_symbol=$("$cast" parse-bytes32-string "$("$cast" call "$addr" 'symbol()' --rpc-url "$url")")
	else
		got_name=$("$cast" call "$addr" 'name()(string)' --rpc-url "$url" | tr -d '"')
		got_symbol=$("$cast" call "$addr" 'symbol()(string)' --rpc-url "$url" | tr -d '"')
	fi
	got_dec=$("$cast" call "$addr" 'decimals()(uint8)' --rpc-url "$url" 2>/dev/null) || got_dec=null
	[ "$got_name|$got_symbol|$got_dec" = "${name//_/ }|$symbol|$decimals" ] ||
		bad+="$addr: chain $got_name|$got_symbol|$got_dec; "
done < <(rec "$r1" 'r.contracts.filter((c) => c.name).map((c) => `${c.address} ${c.kind} ${c.name.replace(/ /g, "_")} ${c.symbol} ${c.decimals}`)')
is "token names, symbols and decimals (cast) are the recorded ones" "$bad" ""
is "the tokens: 3 string ERC-20, 1 bytes32 ERC-20, 2 ERC-721, 1 ERC-1400, 2 ERC-3643 (record)" \
	"$(rec "$r1" '["erc20", "erc20_bytes32", "erc721", "erc1400", "erc3643"].map((k) => r.contracts.filter((c) => c.kind === k).length).join(" ")')" "3 1 2 1 2"

# Code at every created address; none at the ones a revert undid.
bad=
created=$(rec "$r1" 'txs.filter((t) => t.status === 1).flatMap((t) => t.contracts_created.map((c) => `${c.address} ${c.via}`))')
while read -r addr via; do
	code=$("$cast" code "$addr" --rpc-url "$url")
	[ "${#code}" -gt 2 ] || bad+="$addr ($via) has no code; "
done <<<"$created"
is "code exists at every created address ($(wc -l <<<"$created"), cast)" "$bad" ""
is "creates: by transaction, nested CREATE and CREATE2 (record)" \
	"$(awk '{print $2}' <<<"$created" | sort | uniq -c | awk '{printf "%s=%s ", $2, ($1 > 1 ? "many" : $1)}')" \
	"create=many create2=many transaction=many "
# A reverted transaction's creates leave no code behind (checked at its own
# block: a later create by the factory may reuse the address).
undone=$(rec "$r1" 'txs.filter((t) => t.status === 0).flatMap((t) => t.traces.filter((x) => x.type === "create").map((x) => `${x.to} ${t.block}`))')
bad=
while read -r addr block; do
	[ "$("$cast" code "$addr" --block "$block" --rpc-url "$url")" = 0x ] || bad+="$addr at $block; "
done <<<"$undone"
is "no code where a reverted transaction's creates were undone ($(wc -l <<<"$undone") addresses)" "$bad" ""
check "a reverted transaction created contracts before reverting" test "$(grep -c . <<<"$undone")" -ge 2

# trace_block shows the factory's nested create.
read -r fblock fhash child grandchild < <(rec "$r1" \
	'(() => { const t = txs.find((t) => t.kind === "factory_create"); return `${t.block} ${t.hash} ${t.contracts_created[0].address} ${t.contracts_created[1].address}`; })()')
"$cast" rpc trace_block "$(printf '0x%x' "$fblock")" --rpc-url "$url" >"$T/trace.json"
is "trace_block: a create at depth 2 from the recorded child makes the recorded grandchild" \
	"$(json "j.filter((x) => x.transactionHash === '$fhash' && x.type === 'create').map((x) => x.traceAddress.join('.') + ' ' + x.action.from + ' ' + x.result.address).join(', ')" "$T/trace.json")" \
	"0 $(rec "$r1" "txs.find((t) => t.hash === '$fhash').to") $child, 0.0 $child $grandchild"

# ---- security tokens ----

# Every event in the record carries the topic0 of its signature (cast keccak).
bad=
while read -r sig topic; do
	[ "$("$cast" keccak "$sig")" = "$topic" ] || bad+="$sig; "
done < <(rec "$r1" '[...new Set(txs.flatMap((t) => t.logs.map((l) => `${l.signature} ${l.topics[0]}`)))]')
is "each recorded event's topic0 is cast keccak of its signature" "$bad" ""
is "the security-token events of the catalogue all occur (record)" \
	"$(rec "$r1" '[...new Set(txs.flatMap((t) => t.logs.filter((l) => /^erc(14|15|16|36)/.test(l.standard)).map((l) => l.signature)))].length')" 21
is "ERC-1410 and ERC-3643 events on each of the 4 days (record)" \
	"$(rec "$r1" '["erc1410", "erc3643"].map((s) => new Set(txs.filter((t) => t.logs.some((l) => l.standard === s)).map((t) => r.blocks[t.block].date)).size).join(" ")')" "4 4"

# ERC-1410 partition balances (cast) follow from the partition events.
expectp=$(rec "$r1" '
	(() => {
		const out = [];
		for (const c of r.contracts.filter((c) => c.kind === "erc1400")) {
			const bal = new Map();
			const add = (h, p, v) => bal.set(`${h} ${p}`, (bal.get(`${h} ${p}`) || 0n) + v);
			for (const t of txs) {
				const logs = t.logs.filter((l) => l.address === c.address);
				logs.forEach((l, i) => {
					const a = l.args;
					const v = BigInt(a.value || 0);
					if (l.event === "IssuedByPartition") add(a.to, a.partition, v);
					else if (l.event === "RedeemedByPartition") add(a.from, a.partition, -v);
					else if (l.event === "TransferByPartition") {
						const next = logs[i + 1];
						add(a.from, a.fromPartition, -v);
						add(a.to, next && next.event === "ChangedPartition" ? next.args.toPartition : a.fromPartition, v);
					} else if (l.event === "ControllerTransfer") {
						add(a.from, c.default_partition, -v);
						add(a.to, c.default_partition, v);
					} else if (l.event === "ControllerRedemption") add(a.tokenHolder, c.default_partition, -v);
				});
			}
			for (const [k, v] of bal) out.push(`${c.address} ${k} 0x${v.toString(16).padStart(64, "0")}`);
		}
		return out;
	})()')
bad=
while read -r token holder partition want; do
	got=$("$cast" call "$token" "balanceOfByPartition(bytes32,address)" "$partition" "$holder" --rpc-url "$url")
	[ "$got" = "$want" ] || bad+="$holder $partition: chain $got, events $want; "
done <<<"$expectp"
is "ERC-1400 balances by partition (cast) follow from the partition events ($(wc -l <<<"$expectp") pairs)" "$bad" ""
is "the partitions in use (record events)" \
	"$(rec "$r1" '[...new Set(txs.flatMap((t) => t.logs.flatMap((l) => [l.args.partition, l.args.fromPartition, l.args.toPartition]).filter(Boolean)))].sort().join(" ")' | xargs -n1 "$cast" parse-bytes32-string | tr '\n' ' ')" \
	"locked restricted unrestricted "

# ERC-1643: the documents left after DocumentUpdated/DocumentRemoved.
bad=
while read -r token name uri; do
	got=$("$cast" call "$token" "getDocument(bytes32)(string,bytes32,uint256)" "$name" --rpc-url "$url" | head -1 | tr -d '"')
	[ "$got" = "$uri" ] || bad+="$name: chain '$got', events '$uri'; "
done < <(rec "$r1" '
	(() => {
		const docs = new Map();
		for (const l of txs.flatMap((t) => t.logs)) {
			if (l.event === "DocumentUpdated") docs.set(`${l.address} ${l.args.name}`, l.args.uri);
			if (l.event === "DocumentRemoved") docs.set(`${l.address} ${l.args.name}`, "");
		}
		return [...docs].map(([k, v]) => `${k} ${v}`);
	})()')
is "ERC-1643 documents (cast getDocument) are what the events left" "$bad" ""

# ERC-3643: frozen wallets and frozen amounts from the events, verified
# wallets from IdentityRegistered.
bad=
while read -r token fn holder want; do
	got=$("$cast" call "$token" "$fn" "$holder" --rpc-url "$url")
	[ "$got" = "$want" ] || bad+="$token $fn $holder: chain $got, events $want; "
done < <(rec "$r1" '
	(() => {
		const out = [];
		const word = (v) => "0x" + BigInt(v).toString(16).padStart(64, "0");
		for (const c of r.contracts.filter((c) => c.kind === "erc3643")) {
			const frozen = new Map();
			const amount = new Map();
			for (const l of txs.flatMap((t) => t.logs).filter((l) => l.address === c.address)) {
				const a = l.args;
				if (l.event === "AddressFrozen") frozen.set(a.userAddress, a.isFrozen);
				if (l.event === "TokensFrozen") amount.set(a.userAddress, (amount.get(a.userAddress) || 0n) + BigInt(a.amount));
				if (l.event === "TokensUnfrozen") amount.set(a.userAddress, (amount.get(a.userAddress) || 0n) - BigInt(a.amount));
			}
			for (const [h, f] of frozen) out.push(`${c.address} isFrozen(address) ${h} ${word(f ? 1 : 0)}`);
			for (const [h, v] of amount) out.push(`${c.address} getFrozenTokens(address) ${h} ${word(v)}`);
		}
		for (const l of txs.flatMap((t) => t.logs).filter((l) => l.event === "IdentityRegistered")) {
			out.push(`${l.address} isVerified(address) ${l.args.investorAddress} ${word(1)}`);
		}
		return out;
	})()')
is "ERC-3643 frozen wallets and amounts, verified wallets (cast) follow from the events" "$bad" ""
unverified=$(rec "$r1" 'r.chain.accounts.filter((a) => !txs.some((t) => t.logs.some((l) => l.event === "IdentityRegistered" && l.args.investorAddress === a)))')
registry=$(rec "$r1" 'r.contracts.find((c) => c.kind === "identity_registry").address')
is "wallets without IdentityRegistered are not verified (cast)" \
	"$(for a in $unverified; do "$cast" call "$registry" "isVerified(address)(bool)" "$a" --rpc-url "$url"; done | sort -u)" false
is "transfers to an unverified wallet, to the blocked country and twice from a frozen wallet reverted (record)" \
	"$(rec "$r1" 'txs.filter((t) => t.kind === "erc3643_transfer" && t.status === 0).length')" 4

# Bytecode detection: the catalogue's selectors are in the tokens' code, and
# none in the proxy's, which acts as ERC-3643 only through its events.
sels() { local s; for s in "$@"; do "$cast" sig "$s"; done; }
sel1400=$(sels "balanceOfByPartition(bytes32,address)" "partitionsOf(address)" \
	"transferByPartition(bytes32,address,uint256,bytes)" \
	"operatorTransferByPartition(bytes32,address,address,uint256,bytes,bytes)" \
	"canTransferByPartition(address,address,bytes32,uint256,bytes)" "isIssuable()" \
	"issue(address,uint256,bytes)" "redeem(uint256,bytes)" "transferWithData(address,uint256,bytes)" \
	"canTransfer(address,uint256,bytes)" "getDocument(bytes32)" "setDocument(bytes32,string,bytes32)" \
	"getAllDocuments()" "isControllable()" "controllerTransfer(address,address,uint256,bytes,bytes)" \
	"controllerRedeem(address,uint256,bytes,bytes)")
sel3643=$(sels "identityRegistry()" "compliance()" "onchainID()" "isFrozen(address)" \
	"getFrozenTokens(address)" "forcedTransfer(address,address,uint256)" \
	"recoveryAddress(address,address,address)" "setAddressFrozen(address,bool)")
in_code() {
	local code s n=0
	code=$("$cast" code "$1" --rpc-url "$url")
	for s in $2; do case $code in *"${s#0x}"*) n=$((n + 1)) ;; esac; done
	echo "$n"
}
bond=$(rec "$r1" 'r.contracts.find((c) => c.kind === "erc1400").address')
dfs=$(rec "$r1" 'r.contracts.find((c) => c.kind === "erc3643" && !c.implementation).address')
read -r proxy impl < <(rec "$r1" '(() => { const c = r.contracts.find((c) => c.implementation); return `${c.address} ${c.implementation}`; })()')
is "the ERC-1400 token's code has all 16 ERC-1410/1594/1643/1644 selectors (cast)" "$(in_code "$bond" "$sel1400")" 16
is "the ERC-3643 token's code has all 8 ERC-3643 selectors (cast)" "$(in_code "$dfs" "$sel3643")" 8
is "the proxy's code has none of them (cast)" "$(in_code "$proxy" "$sel3643 $sel1400")" 0
is "the proxy's EIP-1967 slot holds the recorded implementation (cast storage)" \
	"$("$cast" storage "$proxy" 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc --rpc-url "$url")" \
	"0x000000000000000000000000${impl#0x}"
read -r pblock phash < <(rec "$r1" '(() => { const t = txs.find((t) => t.to === r.contracts.find((c) => c.implementation).address && t.status === 1 && t.kind === "erc3643_transfer"); return `${t.block} ${t.hash}`; })()')
"$cast" rpc trace_block "$(printf '0x%x' "$pblock")" --rpc-url "$url" >"$T/ptrace.json"
is "trace_block: a transfer through the proxy delegatecalls the implementation" \
	"$(json "j.filter((x) => x.transactionHash === '$phash' && x.action.callType === 'delegatecall').map((x) => x.action.from + ' ' + x.action.to).join(', ')" "$T/ptrace.json")" \
	"$proxy $impl"

# ---- second start: same chain, same record ----
two=$T/two
url2=$(start "$two")
is "a second devnet starts" "$?" 0
t_pids+=("$(cat "$two/anvil.pid" 2>/dev/null || echo 0)")
hashes() {
	local n
	for n in $(seq 0 "$head"); do "$cast" block "$n" -f hash --rpc-url "$1"; done
}
h1=$(hashes "$url")
is "the second chain has the same block hashes (cast, $((head + 1)) blocks)" "$(hashes "$url2")" "$h1"
check "the two records are byte for byte the same" cmp -s "$r1" "$two/record.json"

stop "$one"
stop "$two"
check "stop.sh ends anvil" wait_for 5 gone "$pid"
check "stop.sh removes the pid file" test ! -e "$one/anvil.pid"

done_testing
