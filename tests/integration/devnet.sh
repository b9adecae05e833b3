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
check "the ERC-20 checks cover 4 tokens and 20 holder balances" \
	test "$(grep -c totalSupply <<<"$expect20")" -eq 4 -a "$(grep -c balanceOf <<<"$expect20")" -ge 20

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
is "the tokens: 3 string ERC-20, 1 bytes32 ERC-20, 2 ERC-721 (record)" \
	"$(rec "$r1" '["erc20", "erc20_bytes32", "erc721"].map((k) => r.contracts.filter((c) => c.kind === k).length).join(" ")')" "3 1 2"

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
