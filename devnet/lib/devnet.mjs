// devnet.mjs: the generator's model of the chain it builds.  Each action
// (an ether transfer, a token call, a deployment, a factory call) is
// planned against the model: the model decides whether the contract will
// accept it, which events it emits, which contracts it creates (addresses
// computed here from nonces and init code) and what call tree it runs, and
// updates balances, owners and nonces.  Transactions are then sent to anvil
// with eth_sendTransaction, one block is mined at a chosen timestamp, and
// the block, its transactions and receipts are compared with the plan.
// The record written from the plans is therefore the generator's own
// expectation, checked against the node, never copied from it.
import { callData, encode, encodeLog, eventType, decode } from './abi.mjs';
import { createAddress, create2Address } from './keccak.mjs';

export const ZERO = '0x0000000000000000000000000000000000000000';
const GWEI = 10n ** 9n;
export const lc = (a) => a.toLowerCase();

export const EVENTS = {
  erc20Transfer: eventType('Transfer(address indexed from, address indexed to, uint256 value)'),
  erc20Approval: eventType('Approval(address indexed owner, address indexed spender, uint256 value)'),
  erc721Transfer: eventType('Transfer(address indexed from, address indexed to, uint256 indexed tokenId)'),
  erc721Approval: eventType('Approval(address indexed owner, address indexed approved, uint256 indexed tokenId)'),
  approvalForAll: eventType('ApprovalForAll(address indexed owner, address indexed operator, bool approved)'),
  created: eventType('Created(address indexed child, address indexed grandchild, address indexed owner)'),
  tried: eventType('Tried(bool ok)'),
};

// Gas limits sent with each kind of transaction: generous and fixed, so
// no estimate (which fails for reverting calls) is involved.
export const GAS = {
  eth: 21000n,
  ethAccessList: 25000n,
  token: 100000n,
  nft: 120000n,
  deploy: 3000000n,
  factory: 600000n,
  fail: 60000n,
};
export const BLOCK_GAS_LIMIT = 30000000n;

// Fees: type 2 sends these caps; types 0 and 1 send GAS_PRICE.  The base
// fee starts at 1 gwei and only falls on a chain this empty.
const MAX_FEE = 3n * GWEI;
const PRIORITY_FEE = 1n * GWEI;
const GAS_PRICE = 2n * GWEI;

const hex = (n) => `0x${BigInt(n).toString(16)}`;

function jsonValue(v) {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)) return v.toLowerCase();
  return v;
}

/** A call-tree node; flattened to parity-style trace addresses later. */
export function node(type, callType, from, to, value, children = [], reverted = false) {
  return { type, call_type: callType, from: lc(from), to: to && lc(to), value: BigInt(value), children, reverted };
}

function flattenTraces(root) {
  const out = [];
  const walk = (n, addr) => {
    out.push({
      trace_address: addr,
      type: n.type,
      call_type: n.call_type,
      from: n.from,
      to: n.to,
      value: n.value.toString(),
      subtraces: n.children.length,
      reverted: n.reverted,
    });
    n.children.forEach((c, i) => walk(c, [...addr, i]));
  };
  walk(root, []);
  return out;
}

/** One planned transaction: what is sent and everything it should do. */
class Plan {
  constructor(kind, from, to, value, data, gas, type) {
    Object.assign(this, { kind, from: lc(from), to: to && lc(to), value: BigInt(value), data, gas, type });
    this.status = 1;
    this.events = []; // {address, ev, args, standard}
    this.created = []; // {address, contract, kind, via, creator}
    this.root = null; // call tree
    this.contractAddress = null; // receipt contractAddress
  }

  emit(address, ev, args, standard = null) {
    this.events.push({ address: lc(address), ev, args, standard });
    return this;
  }
}

export class Devnet {
  constructor(rpc, artifacts, accounts, rand) {
    this.rpc = rpc;
    this.art = artifacts;
    this.accounts = accounts.map(lc);
    this.rand = rand;
    this.nonces = new Map(this.accounts.map((a) => [a, 0]));
    this.contracts = []; // in creation order
    this.byAddress = new Map();
    this.blocks = [];
    this.pending = [];
    this.blockNumber = 0;
  }

  // ---- helpers for actions ----

  txType(weights = [0.6, 0.25, 0.15]) {
    const r = this.rand();
    return r < weights[0] ? 2 : r < weights[0] + weights[1] ? 0 : 1;
  }

  newPlan(kind, from, to, value, data, gas, type = 2) {
    const p = new Plan(kind, from, to, value, data, gas, type);
    p.nonce = this.nonces.get(lc(from));
    if (p.nonce === undefined) throw new Error(`${from} is not an unlocked account`);
    this.nonces.set(lc(from), p.nonce + 1);
    return p;
  }

  addContract(address, contract, kind, plan, via, creator, extra = {}) {
    const c = { address: lc(address), contract, kind, creator: lc(creator), via, plan, nonce: 1, ...extra };
    plan.created.push(c);
    return c;
  }

  // Contracts become visible to later plans only if their transaction
  // succeeds; called by queue().
  commitContracts(plan) {
    for (const c of plan.created) {
      this.contracts.push(c);
      this.byAddress.set(c.address, c);
    }
  }

  queue(plan) {
    if (plan.status === 1) this.commitContracts(plan);
    this.pending.push(plan);
    return plan;
  }

  contractsOf(kind) {
    return this.contracts.filter((c) => c.kind === kind);
  }

  // ---- actions: each plans one transaction and queues it ----

  ethTransfer(from, to, value, type = this.txType()) {
    const gas = type === 1 ? GAS.ethAccessList : GAS.eth;
    const p = this.newPlan('eth_transfer', from, to, value, '0x', gas, type);
    if (type === 1) p.accessList = [{ address: lc(to), storageKeys: [] }];
    p.root = node('call', 'call', from, to, value);
    return this.queue(p);
  }

  deploy(from, contract, ctorTypes, ctorArgs, kind, meta = {}, gas = GAS.deploy) {
    const initCode = this.art[contract].bytecode + encode(ctorTypes, ctorArgs);
    const p = this.newPlan('contract_deploy', from, null, 0n, initCode, gas, this.txType([0.8, 0.2, 0]));
    const address = createAddress(from, p.nonce);
    p.contractAddress = address;
    p.root = node('create', null, from, address, 0n);
    const c = this.addContract(address, contract, kind, p, 'transaction', from, { owner: lc(from), ...meta });
    if (kind === 'erc20' || kind === 'erc20_bytes32') {
      c.balances = new Map();
      c.allowances = new Map();
      c.totalSupply = 0n;
      if (meta.initialSupply) this.mint20(p, c, from, meta.initialSupply);
      delete c.initialSupply;
    } else if (kind === 'erc721') {
      c.owners = new Map();
      c.approved = new Map();
      c.operators = new Set();
      c.everMinted = [];
    }
    return this.queue(p);
  }

  mint20(p, c, to, amount) {
    c.totalSupply += amount;
    c.balances.set(lc(to), (c.balances.get(lc(to)) || 0n) + amount);
    p.emit(c.address, EVENTS.erc20Transfer, { from: ZERO, to, value: amount }, 'erc20');
  }

  tokenCall(kind, c, from, sig, args, gas) {
    const p = this.newPlan(kind, from, c.address, 0n, callData(sig, args), gas, this.txType([0.75, 0.25, 0]));
    p.root = node('call', 'call', from, c.address, 0n);
    return p;
  }

  revertPlan(p) {
    p.status = 0;
    p.root.reverted = true;
    return this.queue(p);
  }

  erc20Transfer(c, from, to, amount) {
    const p = this.tokenCall('erc20_transfer', c, from, 'transfer(address,uint256)', [to, amount], GAS.token);
    const have = c.balances.get(lc(from)) || 0n;
    if (to === ZERO || have < amount) return this.revertPlan(p);
    this.move20(p, c, from, to, amount);
    return this.queue(p);
  }

  move20(p, c, from, to, amount) {
    c.balances.set(lc(from), c.balances.get(lc(from)) - amount);
    c.balances.set(lc(to), (c.balances.get(lc(to)) || 0n) + amount);
    p.emit(c.address, EVENTS.erc20Transfer, { from, to, value: amount }, 'erc20');
  }

  erc20Approve(c, owner, spender, amount) {
    const p = this.tokenCall('erc20_approve', c, owner, 'approve(address,uint256)', [spender, amount], GAS.token);
    c.allowances.set(`${lc(owner)}|${lc(spender)}`, amount);
    p.emit(c.address, EVENTS.erc20Approval, { owner, spender, value: amount }, 'erc20');
    return this.queue(p);
  }

  erc20TransferFrom(c, spender, from, to, amount) {
    const p = this.tokenCall('erc20_transfer_from', c, spender, 'transferFrom(address,address,uint256)', [from, to, amount], GAS.token);
    const key = `${lc(from)}|${lc(spender)}`;
    const allowed = c.allowances.get(key) || 0n;
    const have = c.balances.get(lc(from)) || 0n;
    if (allowed < amount || to === ZERO || have < amount) return this.revertPlan(p);
    if (allowed !== (1n << 256n) - 1n) c.allowances.set(key, allowed - amount);
    this.move20(p, c, from, to, amount);
    return this.queue(p);
  }

  erc20Mint(c, to, amount) {
    const p = this.tokenCall('erc20_mint', c, c.owner, 'mint(address,uint256)', [to, amount], GAS.token);
    if (to === ZERO) return this.revertPlan(p);
    this.mint20(p, c, to, amount);
    return this.queue(p);
  }

  erc20Burn(c, holder, amount) {
    const p = this.tokenCall('erc20_burn', c, holder, 'burn(uint256)', [amount], GAS.token);
    const have = c.balances.get(lc(holder)) || 0n;
    if (have < amount) return this.revertPlan(p);
    c.balances.set(lc(holder), have - amount);
    c.totalSupply -= amount;
    p.emit(c.address, EVENTS.erc20Transfer, { from: holder, to: ZERO, value: amount }, 'erc20');
    return this.queue(p);
  }

  erc721Mint(c, to, tokenId) {
    const p = this.tokenCall('erc721_mint', c, c.owner, 'mint(address,uint256)', [to, tokenId], GAS.nft);
    if (to === ZERO || c.owners.has(tokenId)) return this.revertPlan(p);
    c.owners.set(tokenId, lc(to));
    c.everMinted.push(tokenId);
    p.emit(c.address, EVENTS.erc721Transfer, { from: ZERO, to, tokenId }, 'erc721');
    return this.queue(p);
  }

  // variant: 'transferFrom', 'safeTransferFrom' or 'safeTransferFromData'.
  erc721Transfer(c, caller, from, to, tokenId, variant = 'transferFrom') {
    const call = {
      transferFrom: ['erc721_transfer', 'transferFrom(address,address,uint256)', [from, to, tokenId]],
      safeTransferFrom: ['erc721_safe_transfer', 'safeTransferFrom(address,address,uint256)', [from, to, tokenId]],
      safeTransferFromData: ['erc721_safe_transfer', 'safeTransferFrom(address,address,uint256,bytes)', [from, to, tokenId, '0x6465766e6574']],
    }[variant];
    const p = this.tokenCall(call[0], c, caller, call[1], call[2], GAS.nft);
    const holder = c.owners.get(tokenId);
    const allowed = lc(caller) === holder || c.approved.get(tokenId) === lc(caller) || c.operators.has(`${holder}|${lc(caller)}`);
    if (variant !== 'transferFrom' && this.byAddress.has(lc(to))) {
      throw new Error('safeTransferFrom to a contract is not modelled');
    }
    if (!holder || holder !== lc(from) || to === ZERO || !allowed) return this.revertPlan(p);
    c.approved.delete(tokenId);
    c.owners.set(tokenId, lc(to));
    p.emit(c.address, EVENTS.erc721Transfer, { from, to, tokenId }, 'erc721');
    return this.queue(p);
  }

  erc721Approve(c, holder, approved, tokenId) {
    const p = this.tokenCall('erc721_approve', c, holder, 'approve(address,uint256)', [approved, tokenId], GAS.nft);
    const owner = c.owners.get(tokenId);
    if (!owner || (owner !== lc(holder) && !c.operators.has(`${owner}|${lc(holder)}`))) return this.revertPlan(p);
    c.approved.set(tokenId, lc(approved));
    p.emit(c.address, EVENTS.erc721Approval, { owner, approved, tokenId }, 'erc721');
    return this.queue(p);
  }

  erc721SetApprovalForAll(c, holder, operator, approved) {
    const p = this.tokenCall('erc721_set_approval_for_all', c, holder, 'setApprovalForAll(address,bool)', [operator, approved], GAS.nft);
    const key = `${lc(holder)}|${lc(operator)}`;
    if (approved) c.operators.add(key);
    else c.operators.delete(key);
    p.emit(c.address, EVENTS.approvalForAll, { owner: holder, operator, approved }, 'erc721');
    return this.queue(p);
  }

  erc721Burn(c, holder, tokenId) {
    const p = this.tokenCall('erc721_burn', c, holder, 'burn(uint256)', [tokenId], GAS.nft);
    if (c.owners.get(tokenId) !== lc(holder)) return this.revertPlan(p);
    c.owners.delete(tokenId);
    c.approved.delete(tokenId);
    p.emit(c.address, EVENTS.erc721Transfer, { from: holder, to: ZERO, tokenId }, 'erc721');
    return this.queue(p);
  }

  // A Child created by factory f (CREATE at the factory's nonce, or CREATE2)
  // and the Grandchild its constructor creates (CREATE at nonce 1 of the
  // child).  Returns the call-tree node of the child's creation.
  childCreation(p, f, owner, value, salt) {
    const initCode = this.art.Child.bytecode + encode(['address'], [owner]);
    const child = salt ? create2Address(f.address, salt, initCode) : createAddress(f.address, f.nonce);
    const grandchild = createAddress(child, 1);
    f.nonce += 1;
    const via = salt ? 'create2' : 'create';
    this.addContract(child, 'Child', 'child', p, via, f.address, { nonce: 2 });
    this.addContract(grandchild, 'Grandchild', 'grandchild', p, 'create', child);
    const creation = node('create', null, f.address, child, value, [node('create', null, child, grandchild, 0n)]);
    return { child, grandchild, creation };
  }

  factoryCreate(f, from, value, salt = null) {
    const sig = salt ? 'create2(bytes32)' : 'create()';
    const p = this.newPlan(salt ? 'factory_create2' : 'factory_create', from, f.address, value,
      callData(sig, salt ? [salt] : []), GAS.factory, this.txType([0.8, 0.2, 0]));
    if (salt && value !== 0n) {
      // create2() is not payable: the call reverts before creating anything.
      p.root = node('call', 'call', from, f.address, value);
      return this.revertPlan(p);
    }
    if (salt) {
      const initCode = this.art.Child.bytecode + encode(['address'], [from]);
      if (this.byAddress.has(create2Address(f.address, salt, initCode))) throw new Error(`salt ${salt} already used`);
    }
    const { child, grandchild, creation } = this.childCreation(p, f, from, value, salt);
    p.root = node('call', 'call', from, f.address, value, [creation, node('call', 'staticcall', f.address, child, 0n)]);
    p.emit(f.address, EVENTS.created, { child, grandchild, owner: from });
    return this.queue(p);
  }

  factoryFail(f, from) {
    const p = this.newPlan('factory_fail', from, f.address, 0n, callData('fail()'), GAS.fail);
    p.root = node('call', 'call', from, f.address, 0n);
    return this.revertPlan(p);
  }

  factoryTryFail(f, from) {
    const p = this.newPlan('factory_try_fail', from, f.address, 0n, callData('tryFail()'), GAS.factory);
    p.root = node('call', 'call', from, f.address, 0n, [node('call', 'staticcall', f.address, f.address, 0n, [], true)]);
    p.emit(f.address, EVENTS.tried, { ok: false });
    return this.queue(p);
  }

  factoryCreateThenFail(f, from) {
    const p = this.newPlan('factory_create_then_fail', from, f.address, 0n, callData('createThenFail()'), GAS.factory);
    // The creations run, then the revert undoes them and the nonce bump.
    const saved = f.nonce;
    const { creation } = this.childCreation(p, f, from, 0n, null);
    f.nonce = saved;
    p.created = [];
    p.root = node('call', 'call', from, f.address, 0n, [creation]);
    return this.revertPlan(p);
  }

  // ---- sending, mining, checking ----

  txParams(p) {
    const t = { from: p.from, value: hex(p.value), data: p.data, gas: hex(p.gas), nonce: hex(p.nonce), type: hex(p.type) };
    if (p.to) t.to = p.to;
    if (p.type === 2) {
      t.maxFeePerGas = hex(MAX_FEE);
      t.maxPriorityFeePerGas = hex(PRIORITY_FEE);
    } else {
      t.gasPrice = hex(GAS_PRICE);
    }
    if (p.accessList) t.accessList = p.accessList;
    return t;
  }

  // Sends the queued plans, mines one block at `timestamp`, checks it.
  async mine(timestamp) {
    const plans = this.pending;
    this.pending = [];
    const gas = plans.reduce((s, p) => s + p.gas, 0n);
    if (gas > BLOCK_GAS_LIMIT) throw new Error(`block at ${timestamp}: gas limits add up to ${gas}`);
    for (const p of plans) p.hash = await this.rpc.call('eth_sendTransaction', [this.txParams(p)]);
    await this.rpc.call('evm_mine', [timestamp]);
    this.blockNumber += 1;
    const block = { number: this.blockNumber, timestamp, plans };
    let logIndex = 0;
    plans.forEach((p, i) => {
      p.index = i;
      p.logs = p.status === 1 ? p.events.map((e) => ({ ...e, log_index: logIndex++, ...encodeLog(e.ev, e.args) })) : [];
    });
    await this.checkBlock(block);
    await this.checkTraces(block);
    this.blocks.push(block);
    return block;
  }

  async checkBlock(b) {
    const where = `block ${b.number}`;
    const got = await this.rpc.call('eth_getBlockByNumber', [hex(b.number), true]);
    const fail = (msg) => {
      throw new Error(`${where}: ${msg}`);
    };
    if (!got) fail('not found after evm_mine');
    if (BigInt(got.timestamp) !== BigInt(b.timestamp)) fail(`timestamp ${BigInt(got.timestamp)}, wanted ${b.timestamp}`);
    if (got.transactions.length !== b.plans.length) {
      fail(`${got.transactions.length} transactions, sent ${b.plans.length} (pool order or gas limit?)`);
    }
    const receipts = await this.rpc.call('eth_getBlockReceipts', [hex(b.number)]);
    b.plans.forEach((p, i) => {
      const t = got.transactions[i];
      const r = receipts[i];
      const w = `${where} tx ${i} (${p.kind})`;
      const same = (what, a, e) => {
        if (String(a).toLowerCase() !== String(e).toLowerCase()) throw new Error(`${w}: ${what} is ${a}, expected ${e}`);
      };
      same('hash', t.hash, p.hash);
      same('from', t.from, p.from);
      same('to', t.to, p.to);
      same('value', BigInt(t.value), p.value);
      same('input', t.input, p.data);
      same('nonce', BigInt(t.nonce), p.nonce);
      same('gas', BigInt(t.gas), p.gas);
      same('type', BigInt(t.type), p.type);
      same('receipt hash', r.transactionHash, p.hash);
      same('status', BigInt(r.status), p.status);
      same('contractAddress', r.contractAddress, p.status === 1 ? p.contractAddress : null);
      same('log count', r.logs.length, p.logs.length);
      p.logs.forEach((l, k) => {
        const rl = r.logs[k];
        same(`log ${k} address`, rl.address, l.address);
        same(`log ${k} topics`, rl.topics.join(','), l.topics.join(','));
        same(`log ${k} data`, rl.data, l.data);
        same(`log ${k} logIndex`, BigInt(rl.logIndex), l.log_index);
      });
    });
  }

  // Compares each plan's call tree with the node's parity-style trace_block.
  async checkTraces(b) {
    const traces = await this.rpc.call('trace_block', [hex(b.number)]);
    b.plans.forEach((p, i) => {
      const w = `block ${b.number} tx ${i} (${p.kind}) traces`;
      const got = traces.filter((t) => t.transactionPosition === i).map((t) => ({
        trace_address: t.traceAddress,
        type: t.type,
        call_type: t.type === 'call' ? t.action.callType : null,
        from: lc(t.action.from),
        to: t.type === 'create' ? (t.result ? lc(t.result.address) : null) : lc(t.action.to),
        value: BigInt(t.action.value).toString(),
        subtraces: t.subtraces,
        reverted: Boolean(t.error),
      }));
      const want = flattenTraces(p.root);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`${w}: node has ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
    });
    if (traces.some((t) => t.transactionPosition === undefined || t.transactionPosition >= b.plans.length)) {
      throw new Error(`block ${b.number}: traces outside its transactions`);
    }
  }

  // Reads the final state back with eth_call and compares it with the model.
  async ethCall(to, sig, types, args = []) {
    const out = await this.rpc.call('eth_call', [{ to, data: callData(sig, args) }, 'latest']);
    return decode(types, out);
  }

  async checkFinalState() {
    const call = (to, sig, types, args) => this.ethCall(to, sig, types, args);
    const fail = (c, msg) => {
      throw new Error(`${c.contract} ${c.address}: ${msg}`);
    };
    for (const c of this.contracts) {
      const code = await this.rpc.call('eth_getCode', [c.address, 'latest']);
      const want = this.art[c.contract].deployedBytecode;
      if (code.length !== want.length) fail(c, `code is ${(code.length - 2) / 2} bytes, expected ${(want.length - 2) / 2}`);
      if (c.kind === 'erc20' || c.kind === 'erc20_bytes32') {
        const t = c.kind === 'erc20' ? 'string' : 'bytes32';
        const [name] = await call(c.address, 'name()', [t]);
        const [symbol] = await call(c.address, 'symbol()', [t]);
        if (name !== c.nameRaw || symbol !== c.symbolRaw) fail(c, `name/symbol ${name}/${symbol}`);
        const [dec] = await call(c.address, 'decimals()', ['uint8']);
        if (Number(dec) !== c.decimals) fail(c, `decimals ${dec}`);
        const [supply] = await call(c.address, 'totalSupply()', ['uint256']);
        if (supply !== c.totalSupply) fail(c, `totalSupply ${supply}, expected ${c.totalSupply}`);
        for (const holder of new Set([...this.accounts, ...c.balances.keys()])) {
          const [bal] = await call(c.address, 'balanceOf(address)', ['uint256'], [holder]);
          if (bal !== (c.balances.get(holder) || 0n)) fail(c, `balanceOf(${holder}) ${bal}`);
        }
      } else if (c.kind === 'erc721') {
        for (const id of c.everMinted) {
          const out = await this.rpc.call('eth_call', [{ to: c.address, data: callData('ownerOf(uint256)', [id]) }, 'latest'])
            .then((r) => decode(['address'], r)[0], () => null);
          if (out !== (c.owners.get(id) || null)) fail(c, `ownerOf(${id}) ${out}`);
        }
      }
    }
  }

  // ---- the record ----

  recordOf(plan) {
    const logs = plan.logs.map((l) => ({
      log_index: l.log_index,
      address: l.address,
      event: l.ev.name,
      signature: l.ev.signature,
      standard: l.standard,
      args: Object.fromEntries(Object.entries(l.args).map(([k, v]) => [k, jsonValue(v)])),
      topics: l.topics,
      data: l.data,
    }));
    const transfers = plan.logs
      .filter((l) => l.standard && l.ev.name === 'Transfer')
      .map((l) => ({
        token_address: l.address,
        standard: l.standard,
        from: lc(l.args.from),
        to: lc(l.args.to),
        ...(l.standard === 'erc721' ? { token_id: String(l.args.tokenId) } : { value: String(l.args.value) }),
        log_index: l.log_index,
      }));
    return {
      hash: plan.hash,
      transaction_index: plan.index,
      from: plan.from,
      to: plan.to,
      value: plan.value.toString(),
      nonce: plan.nonce,
      type: plan.type,
      gas: Number(plan.gas),
      gas_price: plan.type === 2 ? null : GAS_PRICE.toString(),
      max_fee_per_gas: plan.type === 2 ? MAX_FEE.toString() : null,
      max_priority_fee_per_gas: plan.type === 2 ? PRIORITY_FEE.toString() : null,
      input: plan.data,
      input_selector: plan.to && plan.data.length >= 10 ? plan.data.slice(0, 10) : null,
      kind: plan.kind,
      status: plan.status,
      contract_address: plan.status === 1 ? plan.contractAddress : null,
      contracts_created: plan.created.map((c) => ({ address: c.address, contract: c.contract, kind: c.kind, via: c.via, creator: c.creator })),
      logs,
      token_transfers: transfers,
      traces: flattenTraces(plan.root),
    };
  }
}

