#!/usr/bin/env bash
# etl_replay.sh: exports from recorded JSON-RPC answers of chain states a
# devnet cannot produce (blocks before London and Byzantium: no base fee,
# receipts with root and no status; block and uncle rewards; a reverted
# call with a create and a selfdestruct under it; a Transfer event that is
# not four words; withdrawals after Shanghai; Optimism's l1 fee fields),
# compared byte for byte with golden files written from ethereum-etl's
# mapping rules.
. "$(dirname "$0")/../lib.sh"

F=$STA_SRCDIR/tests/fixtures/rpc
python3 "$STA_SRCDIR/tests/fakes/rpc_replay.py" "$F/legacy.json" "$T/port" "$T/node.ipc" &
t_pids+=($!)
wait_for 10 test -s "$T/port" || { not_ok "replay server starts"; done_testing; exit 1; }
P=http://127.0.0.1:$(cat "$T/port")
E=$F/legacy.expected
cd "$T"
export STA_RPC_RETRIES=0

golden() { # golden DESC FILE: FILE equals the golden file of that name
	if cmp -s "$1" "$E/$1"; then ok "$2"; else not_ok "$2"; diff "$E/$1" "$1" | head -10 | sed 's/^/#   /'; fi
}

$STA etl export_blocks_and_transactions -s 1000000 -e 1000000 -p "$P" \
	--blocks-output a.csv --transactions-output transactions.csv >/dev/null 2>err ||
	cat err
$STA etl export_blocks_and_transactions -s 17034870 -e 17034870 -p "$P" \
	--blocks-output b.csv >/dev/null 2>>err || cat err
{ cat a.csv; tail -n +2 b.csv; } > blocks.csv
golden blocks.csv "blocks: pre-London (no base fee) and post-Shanghai (withdrawals) as ethereum-etl writes them"
golden transactions.csv "transactions: legacy type 0 without EIP-1559 fees"
$STA etl export_blocks_and_transactions -s 1000000 -e 1000000 -p "$P" --blocks-output a.json >/dev/null 2>&1
$STA etl export_blocks_and_transactions -s 17034870 -e 17034870 -p "$P" --blocks-output b.json >/dev/null 2>&1
cat a.json b.json > blocks.json
golden blocks.json "blocks as JSON lines: withdrawals as objects, nulls"

$STA etl extract_csv_column -i transactions.csv -c hash -o hashes.txt
$STA etl export_receipts_and_logs -t hashes.txt -p "$P" --receipts-output receipts.csv \
	--logs-output logs.csv >/dev/null 2>err || cat err
golden receipts.csv "receipts: pre-Byzantium root, no status, no effective gas price"
golden logs.csv "logs: topics joined by commas"
# Optimism receipts: l1FeeScalar as a JSON number and as text; ethereum-etl
# writes float(value) either way (Python: repr(float(0.684)) == '0.684').
printf '0x%s\n0x%s\n' "$(printf 'e1%.0s' $(seq 32))" "$(printf 'e2%.0s' $(seq 32))" > op.txt
$STA etl export_receipts_and_logs -t op.txt -p "$P" --receipts-output op.csv >/dev/null 2>err || cat err
is "l1 fields of OP receipts, l1FeeScalar given as a number and as text" \
	"$(cut -d, -f11-14 op.csv | tail -n +2 | tr -d '\r' | tr '\n' ' ')" \
	"500000000000000,1600,10000000000,0.684 500000000000000,1600,10000000000,0.684 "
$STA etl extract_token_transfers -l logs.csv -o token_transfers.csv >/dev/null 2>err
golden token_transfers.csv "token transfers: a Transfer event that is not four words is skipped"
check "the skipped event is reported with its file and line" grep -q 'logs.csv:3: a Transfer event' err

$STA etl export_traces -s 1000000 -e 1000000 -p "$P" -o traces.csv >/dev/null 2>err || cat err
golden traces.csv "traces: rewards, callcode, reverted call with create and selfdestruct below, staticcall without value"

# The same over an IPC socket, as geth --ipcpath serves it.
$STA etl export_blocks_and_transactions -s 1000000 -e 1000000 -p "file://$T/node.ipc" \
	--blocks-output ipc.csv --transactions-output ipc_tx.csv >/dev/null 2>err || cat err
check "IPC provider: the same blocks and transactions" cmp -s ipc.csv a.csv
check "IPC provider: the same transactions" cmp -s ipc_tx.csv transactions.csv

# A method the node does not know is not retried and names the request.
$STA etl export_geth_traces -s 1000000 -e 1000000 -p "$P" -o g.json >/dev/null 2>err
is "an unknown method fails at once" "$?" 1
check "the error names the method and blocks" grep -q 'debug_traceBlockByNumber of blocks 1000000-1000000' err
done_testing
