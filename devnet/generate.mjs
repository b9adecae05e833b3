// generate.mjs: builds the devnet's history on a fresh anvil and writes the
// generator's record of it.
//
//   node devnet/generate.mjs --anvil-args
//       prints the anvil options that fix the chain (one per line)
//   node devnet/generate.mjs --rpc URL --out RECORD.json [--build DIR] [--seed N]
//       generates 4 UTC days of blocks from 2024-03-01 and writes the record
//
// The chain is a function of the seed: anvil runs without automine, every
// transaction is sent with explicit nonce, gas and fees from unlocked
// accounts, and every block is mined at a timestamp chosen here.  Same seed,
// same block hashes.  The record (docs/devnet.md) comes from the plans in
// lib/devnet.mjs, each checked against the node's blocks and receipts.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytes32String } from './lib/abi.mjs';
import { Rpc } from './lib/rpc.mjs';
import { SecurityDevnet } from './lib/security.mjs';
import { keccakText } from './lib/keccak.mjs';

export const CHAIN = {
  mnemonic: 'test test test test test test test test test test test junk',
  chain_id: 31337,
  hardfork: 'cancun',
  genesis_timestamp: 1709251200, // 2024-03-01T00:00:00Z
  account_count: 10,
  balance_ether: 10000,
  gas_limit: 30000000,
  base_fee_per_gas: 1000000000,
};

export function anvilArgs() {
  return [
    '--mnemonic', CHAIN.mnemonic,
    '--chain-id', String(CHAIN.chain_id),
    '--hardfork', CHAIN.hardfork,
    '--timestamp', String(CHAIN.genesis_timestamp),
    '--accounts', String(CHAIN.account_count),
    '--balance', String(CHAIN.balance_ether),
    '--gas-limit', String(CHAIN.gas_limit),
    '--block-base-fee-per-gas', String(CHAIN.base_fee_per_gas),
    '--no-mining',
    '--order', 'fifo',
  ];
}

const DAY = 86400;
const ETHER = 10n ** 18n;
const MAX_UINT = (1n << 256n) - 1n;

// Blocks of each day, as seconds after UTC midnight; empty ones carry no
// transaction.  Day 0's first block is the genesis (not listed); the last
// block of a day (23:59:59) and the first of the next (00:00:00) sit on
// the date boundary on purpose.
const SCHEDULE = [
  [{ at: 12 }, { at: 3600 }, { at: 9000, empty: true }, { at: 33300 }, { at: 56420 }, { at: 72000, empty: true }, { at: 86399 }],
  [{ at: 0 }, { at: 8217 }, { at: 25200, empty: true }, { at: 43230 }, { at: 60300 }, { at: 75600 }, { at: 86399 }],
  [{ at: 0 }, { at: 8217 }, { at: 25200 }, { at: 43230 }, { at: 60300, empty: true }, { at: 75600 }, { at: 86399 }],
  [{ at: 0 }, { at: 8217 }, { at: 25200, empty: true }, { at: 43230 }, { at: 60300 }, { at: 75600, empty: true }, { at: 86399 }],
];

// mulberry32: a small seeded PRNG; the whole history follows from its seed.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The scenario: what happens on each day, on top of random filler. */
class Scenario {
  constructor(d, rand) {
    this.d = d;
    this.rand = rand;
    this.a = d.accounts;
    this.salt = 0;
  }

  int(n) {
    return Math.floor(this.rand() * n);
  }

  pick(list) {
    return list[this.int(list.length)];
  }

  other(than) {
    const rest = this.a.filter((x) => x !== than);
    return this.pick(rest);
  }

  // A random amount with up to 9 significant digits times 10^exp.
  amount(exp) {
    return BigInt(1 + this.int(999999999)) * 10n ** BigInt(exp);
  }

  part(balance) {
    const p = (balance * BigInt(1 + this.int(60))) / 100n;
    return p === 0n ? 1n : p;
  }

  nextSalt() {
    this.salt += 1;
    return `0x${this.salt.toString(16).padStart(64, '0')}`;
  }

  tokens(kinds) {
    return this.d.contracts.filter((c) => kinds.includes(c.kind));
  }

  erc20s() {
    return this.tokens(['erc20', 'erc20_bytes32']);
  }

  holders20(c) {
    return this.a.filter((x) => (c.balances.get(x) || 0n) > 0n);
  }

  held721(c) {
    return [...c.owners.entries()].filter(([, o]) => this.a.includes(o));
  }

  // ---- scripted parts ----

  deployToken(from, name, symbol, decimals, initialSupply) {
    return this.d.deploy(from, 'Token', ['string', 'string', 'uint8', 'uint256'], [name, symbol, decimals, initialSupply], 'erc20',
      { name, symbol, nameRaw: name, symbolRaw: symbol, decimals, initialSupply });
  }

  deployBytes32Token(from, name, symbol, decimals) {
    const n = bytes32String(name);
    const s = bytes32String(symbol);
    return this.d.deploy(from, 'Bytes32Token', ['bytes32', 'bytes32', 'uint8'], [n, s, decimals], 'erc20_bytes32',
      { name, symbol, nameRaw: n, symbolRaw: s, decimals });
  }

  deployCollectible(from, name, symbol) {
    return this.d.deploy(from, 'Collectible', ['string', 'string'], [name, symbol], 'erc721', { name, symbol });
  }

  deployFactory(from) {
    return this.d.deploy(from, 'Factory', [], [], 'factory');
  }

  byContract(p) {
    return this.d.byAddress.get(p.contractAddress);
  }

  // Day-by-day scripted actions, one function per non-empty block.
  script(day) {
    const d = this.d;
    const a = this.a;
    const s = {
      0: [
        () => {
          this.dusd = this.byContract(this.deployToken(a[0], 'Devnet Dollar', 'DUSD', 6, 1000000n * 10n ** 6n));
          this.devt = this.byContract(this.deployToken(a[0], 'Devnet Token', 'DEVT', 18, 0n));
          this.dcol = this.byContract(this.deployCollectible(a[0], 'Devnet Collectible', 'DCOL'));
          this.db32 = this.byContract(this.deployBytes32Token(a[0], 'Devnet Bytes32', 'DB32', 18));
          this.f1 = this.byContract(this.deployFactory(a[0]));
          d.ethTransfer(a[0], a[1], 5n * ETHER + 123456789n, 2);
          return 0;
        },
        () => {
          for (const i of [1, 2, 3]) d.erc20Mint(this.devt, a[i], this.amount(13));
          for (const i of [1, 2, 3]) d.erc721Mint(this.dcol, a[i], BigInt(i));
          d.erc20Mint(this.db32, a[4], this.amount(32) + 7n);
          d.erc20Mint(this.db32, a[5], this.amount(31));
          for (const i of [4, 5, 6]) d.erc20Transfer(this.dusd, a[0], a[i], this.amount(3));
          d.ethTransfer(a[0], a[7], ETHER / 3n, 0);
          return 0;
        },
        () => (d.factoryCreate(this.f1, a[1], ETHER / 4n), 3),
        () => (d.factoryFail(this.f1, a[2]), 3),
        () => 4,
      ],
      1: [
        () => 3,
        () => {
          this.deur = this.byContract(this.deployToken(a[3], 'Devnet Euro', 'DEUR', 2, 500000000n));
          return 2;
        },
        () => {
          const c = this.devt;
          const from = this.holders20(c)[0];
          d.erc20Transfer(c, from, a[9], c.balances.get(from) + 1n); // reverts
          return 3;
        },
        () => {
          d.factoryCreate(this.f1, a[4], 0n, this.nextSalt());
          d.factoryTryFail(this.f1, a[5]);
          return 2;
        },
        () => 3,
        () => {
          const owner = this.holders20(this.dusd).find((x) => x !== a[0]);
          this.approveAndPull(this.dusd, owner, a[8], MAX_UINT);
          return 3;
        },
      ],
      2: [
        () => 3,
        () => {
          this.dbdg = this.byContract(this.deployCollectible(a[5], 'Devnet Badges', 'DBDG'));
          d.erc721Mint(this.dbdg, a[6], 1n);
          d.erc721Mint(this.dbdg, a[7], 2n);
          return 1;
        },
        () => (d.factoryCreateThenFail(this.f1, a[6]), 3),
        () => {
          d.factoryCreate(this.f1, a[7], 0n);
          d.factoryCreate(this.f1, a[8], 0n, this.nextSalt());
          return 2;
        },
        () => {
          const owner = this.holders20(this.devt)[0];
          this.approveAndPull(this.devt, owner, a[9], this.part(this.devt.balances.get(owner)));
          return 2;
        },
        () => 3,
      ],
      3: [
        () => 3,
        () => {
          this.f2 = this.byContract(this.deployFactory(a[0]));
          return 2;
        },
        () => {
          const [id, holder] = this.held721(this.dcol)[0];
          const thief = this.other(holder);
          d.erc721Transfer(this.dcol, thief, thief, a[0] === thief ? a[1] : a[0], id); // reverts: not the owner
          return 3;
        },
        () => {
          d.factoryCreate(this.f2, a[9], ETHER / 10n + 1n);
          d.factoryTryFail(this.f2, a[1]);
          return 2;
        },
        () => 3,
      ],
    };
    return s[day];
  }

  // ---- security tokens: scripted steps, aligned with script(day) ----

  securityScript(day) {
    const d = this.d;
    const a = this.a;
    const U = bytes32String('unrestricted');
    const R = bytes32String('restricted');
    const L = bytes32String('locked');
    const nothing = () => {};
    const partOf = (c, h, part) => c.parts.get(`${h}|${part}`) || 0n;
    const free = (c, h) => (c.balances.get(h) || 0n) - (c.frozenTokens.get(h) || 0n);
    const doc = (name, version) => [bytes32String(name), `https://devnet.invalid/dbond/${name}-v${version}.pdf`, keccakText(`${name} v${version}`)];
    const steps = {
      0: [
        nothing,
        nothing,
        () => {
          this.registry = d.registryDeploy(a[0]);
          this.compliance = d.complianceDeploy(a[0], this.registry, 408);
          this.dbond = d.stDeploy(a[0], 'Devnet Bond', 'DBOND', a[8]);
          this.trexImpl = d.trexImplementationDeploy(a[0]);
          this.ids = {};
          for (const i of [1, 2, 3, 4]) this.ids[i] = d.identityDeploy(a[0], a[i]);
        },
        () => {
          for (const i of [5, 6]) this.ids[i] = d.identityDeploy(a[0], a[i]);
          this.tokenId = d.identityDeploy(a[0], a[0]);
          [[1, 276], [2, 250], [3, 442], [4, 840]].forEach(([i, country]) => d.registerIdentity(this.registry, a[i], this.ids[i].address, country));
          d.stIssue(this.dbond, a[1], this.amount(12), '0x', U);
          d.stIssue(this.dbond, a[2], this.amount(12), '0x6b7963');
          d.stIssue(this.dbond, a[3], this.amount(12), '0x', R);
          d.stSetDocument(this.dbond, ...doc('prospectus', 1));
        },
        () => {
          d.registerIdentity(this.registry, a[5], this.ids[5].address, 756);
          d.registerIdentity(this.registry, a[6], this.ids[6].address, 408); // the blocked country
          this.dfs = d.trexDeploy(a[0], this.trexMeta('Devnet Fund Share', 'DFS', 0));
          for (const [i, n] of [[1, 1000n], [2, 500n], [3, 250n]]) d.trexMint(this.dfs, a[i], n);
          d.trexTransfer(this.dfs, a[1], a[2], 10n);
          d.stTransfer(this.dbond, a[1], a[2], this.part(partOf(this.dbond, a[1], U)));
        },
      ],
      1: [
        () => {
          d.stTransferByPartitionCall(this.dbond, a[1], U, a[4], this.part(partOf(this.dbond, a[1], U)));
          d.trexTransfer(this.dfs, a[2], a[4], 25n);
        },
        () => {
          const p = d.trexProxyDeploy(a[0], this.trexImpl, this.trexMeta('Devnet Real Estate', 'DRE', 18));
          this.dre = d.byAddress.get(p.contractAddress);
          d.trexMint(this.dre, a[4], this.amount(14));
          d.trexMint(this.dre, a[5], this.amount(14));
        },
        () => {
          d.stAuthorizeOperator(this.dbond, a[1], U, a[5]);
          d.stOperatorTransfer(this.dbond, a[5], U, a[1], a[6], this.part(partOf(this.dbond, a[1], U)), '0x6f70');
          d.trexTransfer(this.dfs, a[1], a[7], 5n); // reverts: a[7] has no identity
        },
        () => {
          d.stTransferByPartitionCall(this.dbond, a[3], R, a[4], this.part(partOf(this.dbond, a[3], R)), L);
          d.stSetDocument(this.dbond, ...doc('terms', 1));
          d.trexFreezeTokens(this.dfs, a[2], 100n);
        },
        () => d.trexTransfer(this.dre, a[4], a[1], this.part(free(this.dre, a[4]))),
        () => d.stTransferWithData(this.dbond, a[2], a[1], this.part(partOf(this.dbond, a[2], U)), '0x6b7963'),
      ],
      2: [
        () => {
          d.trexSetFrozen(this.dfs, a[3], true);
          d.trexTransfer(this.dfs, a[3], a[1], 1n); // reverts: a[3] is frozen
        },
        () => {
          d.stControllerTransfer(this.dbond, a[2], a[5], this.part(partOf(this.dbond, a[2], U)), '0x', '0x636f7572742d6f72646572');
          d.stRedeem(this.dbond, a[4], this.part(partOf(this.dbond, a[4], U)), '0x');
        },
        () => {
          d.trexTransfer(this.dfs, a[1], a[6], 3n); // reverts: compliance blocks a[6]'s country
          d.trexForcedTransfer(this.dfs, a[2], a[4], free(this.dfs, a[2]) + 40n); // unfreezes 40
        },
        () => {
          d.stRemoveDocument(this.dbond, bytes32String('prospectus'));
          d.stSetDocument(this.dbond, ...doc('prospectus', 2));
        },
        () => {
          d.updateCountry(this.registry, a[6], 250);
          d.trexMint(this.dre, a[6], this.amount(13));
          d.stTransferByPartitionCall(this.dbond, a[5], U, a[3], this.part(partOf(this.dbond, a[5], U)));
        },
        () => d.trexTransfer(this.dfs, a[3], a[5], 20n), // reverts: a[3] stays frozen overnight
      ],
      3: [
        () => {
          d.trexSetFrozen(this.dfs, a[3], false);
          d.trexTransfer(this.dfs, a[3], a[5], 20n);
          d.registerIdentity(this.registry, a[9], this.ids[2].address, 250); // a[2]'s new wallet
          d.trexFreezeTokens(this.dfs, a[4], 5n);
        },
        () => {
          d.trexRecovery(this.dfs, a[2], a[9], this.ids[2].address);
          d.stControllerRedeem(this.dbond, a[6], this.part(partOf(this.dbond, a[6], U)), '0x', '0x');
        },
        () => {
          d.stRedeem(this.dbond, a[4], this.part(partOf(this.dbond, a[4], L)), '0x', L);
          d.stAuthorizeOperator(this.dbond, a[1], U, a[5], false);
          d.trexBurn(this.dre, a[5], this.part(free(this.dre, a[5])));
        },
        () => {
          d.trexTransfer(this.dre, a[4], a[1], this.part(free(this.dre, a[4])));
          d.stIssue(this.dbond, a[7], this.amount(11), '0x', R);
        },
        () => {
          d.stTransfer(this.dbond, a[1], a[3], this.part(partOf(this.dbond, a[1], U)));
          d.trexTransfer(this.dfs, a[4], a[1], 7n);
        },
      ],
    };
    return steps[day];
  }

  trexMeta(name, symbol, decimals) {
    return { name, symbol, decimals, registry: this.registry, compliance: this.compliance, onchainID: this.tokenId.address, agent: this.a[0] };
  }

  // owner approves spender for allowance; spender moves part of it.
  approveAndPull(c, owner, spender, allowance) {
    const bal = c.balances.get(owner);
    this.d.erc20Approve(c, owner, spender, allowance);
    this.d.erc20TransferFrom(c, spender, owner, this.other(owner), this.part(allowance < bal ? allowance : bal));
  }

  // ---- random filler: each returns false when it does not apply ----

  fillers() {
    const d = this.d;
    return [
      [4, () => {
        const from = this.pick(this.a);
        d.ethTransfer(from, this.other(from), this.amount(6 + this.int(4)));
        return true;
      }],
      [5, () => {
        const c = this.pick(this.erc20s());
        const holders = this.holders20(c);
        if (holders.length === 0) return false;
        const from = this.pick(holders);
        d.erc20Transfer(c, from, this.other(from), this.part(c.balances.get(from)));
        return true;
      }],
      [1, () => {
        const c = this.pick(this.erc20s());
        const holders = this.holders20(c);
        if (holders.length === 0) return false;
        const owner = this.pick(holders);
        const allowance = this.int(4) === 0 ? MAX_UINT : this.part(c.balances.get(owner));
        this.approveAndPull(c, owner, this.other(owner), allowance);
        return true;
      }],
      [1, () => {
        const c = this.pick(this.erc20s());
        const exp = { 6: 4, 2: 3, 18: c.kind === 'erc20_bytes32' ? 30 : 12 }[c.decimals];
        d.erc20Mint(c, this.pick(this.a), this.amount(exp));
        return true;
      }],
      [1, () => {
        const c = this.pick(this.erc20s());
        const holders = this.holders20(c);
        if (holders.length === 0) return false;
        const from = this.pick(holders);
        d.erc20Burn(c, from, this.part(c.balances.get(from) / 10n));
        return true;
      }],
      [1, () => {
        const c = this.pick(this.tokens(['erc721']));
        const next = c.everMinted.reduce((m, x) => (x > m ? x : m), 0n) + 1n;
        d.erc721Mint(c, this.pick(this.a), next);
        return true;
      }],
      [3, () => {
        const c = this.pick(this.tokens(['erc721']));
        const held = this.held721(c);
        if (held.length === 0) return false;
        const [id, holder] = this.pick(held);
        d.erc721Transfer(c, holder, holder, this.other(holder), id, this.pick(['transferFrom', 'safeTransferFrom', 'safeTransferFromData']));
        return true;
      }],
      [1, () => {
        const c = this.pick(this.tokens(['erc721']));
        const held = this.held721(c);
        if (held.length === 0) return false;
        const [id, holder] = this.pick(held);
        const spender = this.other(holder);
        d.erc721Approve(c, holder, spender, id);
        d.erc721Transfer(c, spender, holder, this.other(holder), id);
        return true;
      }],
      [1, () => {
        const c = this.pick(this.tokens(['erc721']));
        const held = this.held721(c);
        if (held.length === 0) return false;
        const [id, holder] = this.pick(held);
        const operator = this.other(holder);
        d.erc721SetApprovalForAll(c, holder, operator, true);
        d.erc721Transfer(c, operator, holder, operator, id, 'safeTransferFrom');
        d.erc721SetApprovalForAll(c, holder, operator, false);
        return true;
      }],
      [1, () => {
        const c = this.pick(this.tokens(['erc721']));
        const held = this.held721(c);
        if (held.length < 3) return false;
        const [id, holder] = this.pick(held);
        d.erc721Burn(c, holder, id);
        return true;
      }],
      [2, () => {
        const c = this.dbond;
        if (!c) return false;
        const holders = this.a.filter((x) => (c.parts.get(`${x}|${c.defaultPartition}`) || 0n) > 0n);
        if (holders.length === 0) return false;
        const from = this.pick(holders);
        d.stTransfer(c, from, this.other(from), this.part(c.parts.get(`${from}|${c.defaultPartition}`)));
        return true;
      }],
      [2, () => {
        const tokens = this.tokens(['erc3643']);
        if (tokens.length === 0) return false;
        const c = this.pick(tokens);
        const ok = (x) => !c.frozen.has(x) && d.verified(c, x) && d.compliant(c, x);
        const holders = this.a.filter((x) => ok(x) && (c.balances.get(x) || 0n) - (c.frozenTokens.get(x) || 0n) > 0n);
        if (holders.length === 0) return false;
        const from = this.pick(holders);
        const to = this.a.filter((x) => x !== from && ok(x));
        d.trexTransfer(c, from, this.pick(to), this.part((c.balances.get(from) || 0n) - (c.frozenTokens.get(from) || 0n)));
        return true;
      }],
      [1, () => {
        const f = this.pick(this.tokens(['factory']));
        if (this.int(3) === 0) d.factoryCreate(f, this.pick(this.a), 0n, this.nextSalt());
        else d.factoryCreate(f, this.pick(this.a), this.int(2) ? 0n : this.amount(8));
        return true;
      }],
    ];
  }

  filler(n) {
    const list = this.fillers();
    const total = list.reduce((s, [w]) => s + w, 0);
    let done = 0;
    while (done < n) {
      let r = this.int(total);
      let k = 0;
      while (r >= list[k][0]) r -= list[k++][0];
      if (list[k][1]()) done += 1;
    }
  }

  async run() {
    for (let day = 0; day < SCHEDULE.length; day++) {
      const steps = this.script(day);
      let k = 0;
      const security = this.securityScript(day);
      if (security.length !== steps.length) throw new Error(`day ${day}: security script has ${security.length} steps`);
      for (const b of SCHEDULE[day]) {
        if (!b.empty) {
          if (k >= steps.length) throw new Error(`day ${day}: more blocks than scripted steps`);
          security[k]();
          this.filler(steps[k++]());
        }
        await this.d.mine(CHAIN.genesis_timestamp + day * DAY + b.at);
      }
      if (k !== steps.length) throw new Error(`day ${day}: ${steps.length - k} scripted steps left over`);
    }
  }
}

function isoDate(ts) {
  return new Date(ts * 1000).toISOString().slice(0, 10);
}

// What a contract's own bytecode implements (its public functions), and
// what a kind of contract acts as (the events it emits): they differ for
// the proxy (acts as ERC-3643, its bytecode has none of the functions) and
// the implementation behind it (has the functions, emits nothing).
const BYTECODE_STANDARDS = {
  Token: ['erc20'],
  Bytes32Token: ['erc20'],
  Collectible: ['erc721'],
  SecurityToken: ['erc20', 'erc1400', 'erc1410', 'erc1594', 'erc1643', 'erc1644'],
  TrexToken: ['erc20', 'erc3643'],
};
const KIND_STANDARDS = {
  erc20: ['erc20'],
  erc20_bytes32: ['erc20'],
  erc721: ['erc721'],
  erc1400: BYTECODE_STANDARDS.SecurityToken,
  erc3643: BYTECODE_STANDARDS.TrexToken,
};

const sortedObject = (entries, keep = () => true) =>
  Object.fromEntries([...entries].filter(keep).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)));
const decimal = ([k, v]) => [k, v.toString()];

function contractRecord(c, art) {
  const r = {
    address: c.address,
    contract: c.contract,
    kind: c.kind,
    standards: KIND_STANDARDS[c.kind] || [],
    bytecode_standards: BYTECODE_STANDARDS[c.contract] || [],
    creator: c.creator,
    via: c.via,
    block_number: c.plan.blockNumber,
    transaction_hash: c.plan.hash,
    selectors: Object.values(art[c.contract].methodIdentifiers).map((x) => `0x${x}`).sort(),
  };
  if (c.implementation) r.implementation = c.implementation;
  if (['erc20', 'erc20_bytes32', 'erc1400', 'erc3643'].includes(c.kind)) {
    Object.assign(r, { name: c.name, symbol: c.symbol, decimals: c.decimals, total_supply: c.totalSupply.toString() });
    if (c.kind === 'erc20_bytes32') Object.assign(r, { name_bytes32: c.nameRaw, symbol_bytes32: c.symbolRaw });
    r.balances = sortedObject([...c.balances].map(decimal), ([, v]) => v !== '0');
  } else if (c.kind === 'erc721') {
    Object.assign(r, { name: c.name, symbol: c.symbol, decimals: null, total_supply: null });
    r.owners = Object.fromEntries([...c.owners.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([k, v]) => [k.toString(), v]));
  }
  if (c.kind === 'erc1400') {
    r.owner = c.owner;
    r.controller = c.controller;
    r.default_partition = c.defaultPartition;
    const parts = {};
    for (const [k, v] of [...c.parts].sort()) {
      const [holder, partition] = k.split('|');
      if (v !== 0n) (parts[holder] ||= {})[partition] = v.toString();
    }
    r.partition_balances = parts;
    r.documents = sortedObject([...c.documents].map(([k, d]) => [k, { uri: d.uri, document_hash: d.documentHash }]));
  } else if (c.kind === 'erc3643') {
    Object.assign(r, {
      owner: c.owner,
      agent: c.agent,
      identity_registry: c.registry.address,
      compliance: c.compliance.address,
      onchain_id: c.onchainID.toLowerCase(),
      frozen_addresses: [...c.frozen].sort(),
      frozen_tokens: sortedObject([...c.frozenTokens].map(decimal), ([, v]) => v !== '0'),
    });
  } else if (c.kind === 'identity_registry') {
    r.identities = sortedObject(c.identities);
    r.countries = sortedObject(c.countries);
  } else if (c.kind === 'compliance') {
    r.identity_registry = c.registry.address;
    r.blocked_country = c.blockedCountry;
  }
  return r;
}

function buildRecord(d, seed, art) {
  const blocks = [{ number: 0, timestamp: CHAIN.genesis_timestamp, date: isoDate(CHAIN.genesis_timestamp), transactions: [] }];
  for (const b of d.blocks) {
    for (const p of b.plans) p.blockNumber = b.number;
    blocks.push({ number: b.number, timestamp: b.timestamp, date: isoDate(b.timestamp), transactions: b.plans.map((p) => d.recordOf(p)) });
  }
  const days = [];
  for (const b of blocks) {
    let day = days[days.length - 1];
    if (!day || day.date !== b.date) {
      const start = Date.parse(`${b.date}T00:00:00Z`) / 1000;
      day = { date: b.date, start_timestamp: start, end_timestamp: start + DAY - 1, first_block: b.number, block_count: 0, transaction_count: 0 };
      days.push(day);
    }
    day.last_block = b.number;
    day.block_count += 1;
    day.transaction_count += b.transactions.length;
  }
  return {
    format: 'sta-devnet-record/1',
    seed,
    chain: { ...CHAIN, accounts: d.accounts },
    days,
    blocks,
    contracts: d.contracts.map((c) => contractRecord(c, art)),
  };
}

function loadArtifacts(dir) {
  const art = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const a = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    art[a.contractName] = a;
  }
  for (const need of ['Token', 'Bytes32Token', 'Collectible', 'Factory', 'Child', 'Grandchild']) {
    if (!art[need]) throw new Error(`${dir}: no ${need}.json (run devnet/compile.mjs)`);
  }
  return art;
}

function parseArgs(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  const opt = { build: join(here, 'build'), seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--anvil-args') opt.anvilArgs = true;
    else if (['--rpc', '--out', '--build', '--seed'].includes(k) && i + 1 < argv.length) opt[k.slice(2)] = argv[++i];
    else throw new Error(`usage: generate.mjs --anvil-args | --rpc URL --out FILE [--build DIR] [--seed N] (at ${k})`);
  }
  opt.seed = Number(opt.seed);
  if (!Number.isInteger(opt.seed) || opt.seed < 0) throw new Error('--seed: a non-negative integer');
  return opt;
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  if (opt.anvilArgs) {
    process.stdout.write(`${anvilArgs().join('\n')}\n`);
    return;
  }
  if (!opt.rpc || !opt.out) throw new Error('--rpc and --out are required');
  const t0 = Date.now();
  const art = loadArtifacts(opt.build);
  const rpc = new Rpc(opt.rpc);
  const chainId = Number(await rpc.call('eth_chainId'));
  if (chainId !== CHAIN.chain_id) throw new Error(`chain id ${chainId}, expected ${CHAIN.chain_id}`);
  const head = Number(await rpc.call('eth_blockNumber'));
  if (head !== 0) throw new Error(`the node is at block ${head}: the generator needs a fresh devnet`);
  const genesis = await rpc.call('eth_getBlockByNumber', ['0x0', false]);
  if (Number(genesis.timestamp) !== CHAIN.genesis_timestamp) throw new Error(`genesis timestamp ${Number(genesis.timestamp)}`);
  const accounts = await rpc.call('eth_accounts');
  if (accounts.length < CHAIN.account_count) throw new Error(`${accounts.length} unlocked accounts`);

  const d = new SecurityDevnet(rpc, art, accounts.slice(0, CHAIN.account_count), prng(opt.seed));
  await new Scenario(d, d.rand).run();
  await d.checkFinalState();

  const record = buildRecord(d, opt.seed, art);
  const tmp = `${opt.out}.tmp.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 1)}\n`);
  renameSync(tmp, opt.out);
  const txs = record.blocks.reduce((s, b) => s + b.transactions.length, 0);
  console.error(`generate: ${record.blocks.length} blocks, ${txs} transactions, ${record.contracts.length} contracts in ${(Date.now() - t0) / 1000} s`);
}

main().catch((e) => {
  console.error(`generate: ${e.message}`);
  process.exit(1);
});

