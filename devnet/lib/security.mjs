// security.mjs: the generator's model of the devnet's security tokens
// (contracts/SecurityToken.sol, an ERC-1400-style token; contracts/Trex.sol,
// an ERC-3643-style token with identity registry, compliance and an
// EIP-1967 proxy).  Like devnet.mjs, each action decides from the model
// whether the contract accepts it, which events it emits in which order
// (with every field), and which internal calls it makes (staticcalls to the
// registry and compliance, the proxy's delegatecall), so that the record
// can be compared with the node's receipts and traces.
import { bytes32String, callData, encode, eventType } from './abi.mjs';
import { createAddress } from './keccak.mjs';
import { Devnet, EVENTS, GAS, ZERO, lc, node } from './devnet.mjs';

const E = (decl, standard) => ({ ...eventType(decl), standard });

// Canonical signatures (see the security-token standards catalogue); the
// standard each event belongs to goes into the record with every log.
export const SECURITY_EVENTS = {
  transferByPartition: E('TransferByPartition(bytes32 indexed fromPartition, address operator, address indexed from, address indexed to, uint256 value, bytes data, bytes operatorData)', 'erc1410'),
  changedPartition: E('ChangedPartition(bytes32 indexed fromPartition, bytes32 indexed toPartition, uint256 value)', 'erc1410'),
  authorizedOperatorByPartition: E('AuthorizedOperatorByPartition(bytes32 indexed partition, address indexed operator, address indexed tokenHolder)', 'erc1410'),
  revokedOperatorByPartition: E('RevokedOperatorByPartition(bytes32 indexed partition, address indexed operator, address indexed tokenHolder)', 'erc1410'),
  issuedByPartition: E('IssuedByPartition(bytes32 indexed partition, address indexed operator, address indexed to, uint256 value, bytes data, bytes operatorData)', 'erc1410'),
  redeemedByPartition: E('RedeemedByPartition(bytes32 indexed partition, address indexed operator, address indexed from, uint256 value, bytes operatorData)', 'erc1410'),
  issued: E('Issued(address indexed operator, address indexed to, uint256 value, bytes data)', 'erc1594'),
  redeemed: E('Redeemed(address indexed operator, address indexed from, uint256 value, bytes data)', 'erc1594'),
  documentUpdated: E('DocumentUpdated(bytes32 indexed name, string uri, bytes32 documentHash)', 'erc1643'),
  documentRemoved: E('DocumentRemoved(bytes32 indexed name, string uri, bytes32 documentHash)', 'erc1643'),
  controllerTransfer: E('ControllerTransfer(address controller, address indexed from, address indexed to, uint256 value, bytes data, bytes operatorData)', 'erc1644'),
  controllerRedemption: E('ControllerRedemption(address controller, address indexed tokenHolder, uint256 value, bytes data, bytes operatorData)', 'erc1644'),
  updatedTokenInformation: E('UpdatedTokenInformation(string indexed newName, string indexed newSymbol, uint8 newDecimals, string newVersion, address indexed newOnchainID)', 'erc3643'),
  identityRegistryAdded: E('IdentityRegistryAdded(address indexed identityRegistry)', 'erc3643'),
  complianceAdded: E('ComplianceAdded(address indexed compliance)', 'erc3643'),
  recoverySuccess: E('RecoverySuccess(address indexed lostWallet, address indexed newWallet, address indexed investorOnchainID)', 'erc3643'),
  addressFrozen: E('AddressFrozen(address indexed userAddress, bool indexed isFrozen, address indexed owner)', 'erc3643'),
  tokensFrozen: E('TokensFrozen(address indexed userAddress, uint256 amount)', 'erc3643'),
  tokensUnfrozen: E('TokensUnfrozen(address indexed userAddress, uint256 amount)', 'erc3643'),
  identityRegistered: E('IdentityRegistered(address indexed investorAddress, address indexed identity)', 'erc3643'),
  countryUpdated: E('CountryUpdated(address indexed investorAddress, uint16 indexed country)', 'erc3643'),
  upgraded: E('Upgraded(address indexed implementation)', 'erc1967'),
};
const S = SECURITY_EVENTS;

export const CHANGE_PARTITION_FLAG = `0x${'f'.repeat(64)}`;
const TREX_VERSION = '4.1.3';
const GAS_CALL = 300000n;
const TREX_INIT = 'init(string,string,uint8,address,address,address,address)';

const key = (...parts) => parts.map((x) => (typeof x === 'string' ? x.toLowerCase() : String(x))).join('|');
const get = (m, k) => m.get(k) || 0n;
const add = (m, k, v) => m.set(k, get(m, k) + v);

export class SecurityDevnet extends Devnet {
  emitS(p, address, ev, args) {
    return p.emit(address, ev, args, ev.standard);
  }

  // ---- ERC-1400 ----

  stDeploy(from, name, symbol, controller) {
    const p = this.deploy(from, 'SecurityToken', ['string', 'string', 'address'], [name, symbol, controller], 'erc1400',
      { name, symbol, nameRaw: name, symbolRaw: symbol, decimals: 18, controller: lc(controller) }, 4000000n);
    const c = this.byAddress.get(p.contractAddress);
    Object.assign(c, {
      defaultPartition: bytes32String('unrestricted'), balances: new Map(), parts: new Map(), partitionsOf: new Map(), allowances: new Map(), totalSupply: 0n,
      operators: new Set(), documents: new Map(), everDocuments: new Set(),
    });
    return c;
  }

  stPlan(kind, c, from, sig, args) {
    return this.tokenCall(kind, c, from, sig, args, GAS_CALL);
  }

  stAddPart(c, holder, partition, v) {
    add(c.parts, key(holder, partition), v);
    const list = c.partitionsOf.get(lc(holder)) || [];
    if (!list.includes(partition)) list.push(partition);
    c.partitionsOf.set(lc(holder), list);
  }

  // _move: false when the contract would revert; emits Transfer.
  stMove(p, c, fromPart, toPart, from, to, value) {
    if (to === ZERO || get(c.parts, key(from, fromPart)) < value) return false;
    add(c.parts, key(from, fromPart), -value);
    add(c.balances, lc(from), -value);
    add(c.balances, lc(to), value);
    this.stAddPart(c, to, toPart, value);
    p.emit(c.address, EVENTS.erc20Transfer, { from, to, value }, 'erc20');
    return true;
  }

  stTransferByPartition(p, c, fromPart, toPart, operator, from, to, value, data, operatorData) {
    if (!this.stMove(p, c, fromPart, toPart, from, to, value)) return false;
    this.emitS(p, c.address, S.transferByPartition, { fromPartition: fromPart, operator, from, to, value, data, operatorData });
    if (toPart !== fromPart) this.emitS(p, c.address, S.changedPartition, { fromPartition: fromPart, toPartition: toPart, value });
    return true;
  }

  stFinish(p, ok) {
    return ok ? this.queue(p) : this.revertPlan(p);
  }

  stTransfer(c, from, to, value) {
    const p = this.stPlan('erc1400_transfer', c, from, 'transfer(address,uint256)', [to, value]);
    return this.stFinish(p, this.stTransferByPartition(p, c, c.defaultPartition, c.defaultPartition, from, from, to, value, '0x', '0x'));
  }

  stTransferWithData(c, from, to, value, data) {
    const p = this.stPlan('erc1400_transfer_with_data', c, from, 'transferWithData(address,uint256,bytes)', [to, value, data]);
    return this.stFinish(p, this.stTransferByPartition(p, c, c.defaultPartition, c.defaultPartition, from, from, to, value, data, '0x'));
  }

  // toPartition set: data carries the change-partition flag.
  stTransferByPartitionCall(c, from, partition, to, value, toPartition = null) {
    const data = toPartition ? `0x${encode(['bytes32', 'bytes32'], [CHANGE_PARTITION_FLAG, toPartition])}` : '0x';
    const p = this.stPlan('erc1400_transfer_by_partition', c, from, 'transferByPartition(bytes32,address,uint256,bytes)', [partition, to, value, data]);
    return this.stFinish(p, this.stTransferByPartition(p, c, partition, toPartition || partition, from, from, to, value, data, '0x'));
  }

  stOperatorTransfer(c, operator, partition, from, to, value, operatorData) {
    const p = this.stPlan('erc1400_operator_transfer_by_partition', c, operator,
      'operatorTransferByPartition(bytes32,address,address,uint256,bytes,bytes)', [partition, from, to, value, '0x', operatorData]);
    const allowed = lc(operator) === lc(from) || lc(operator) === c.controller || c.operators.has(key(from, partition, operator));
    return this.stFinish(p, allowed && this.stTransferByPartition(p, c, partition, partition, operator, from, to, value, '0x', operatorData));
  }

  stAuthorizeOperator(c, holder, partition, operator, authorize = true) {
    const sig = authorize ? 'authorizeOperatorByPartition(bytes32,address)' : 'revokeOperatorByPartition(bytes32,address)';
    const p = this.stPlan(authorize ? 'erc1400_authorize_operator' : 'erc1400_revoke_operator', c, holder, sig, [partition, operator]);
    if (authorize) c.operators.add(key(holder, partition, operator));
    else c.operators.delete(key(holder, partition, operator));
    this.emitS(p, c.address, authorize ? S.authorizedOperatorByPartition : S.revokedOperatorByPartition,
      { partition, operator, tokenHolder: holder });
    return this.queue(p);
  }

  // partition null: ERC-1594 issue() into the default partition.
  stIssue(c, to, value, data, partition = null) {
    const p = partition
      ? this.stPlan('erc1400_issue_by_partition', c, c.owner, 'issueByPartition(bytes32,address,uint256,bytes)', [partition, to, value, data])
      : this.stPlan('erc1400_issue', c, c.owner, 'issue(address,uint256,bytes)', [to, value, data]);
    const part = partition || c.defaultPartition;
    if (to === ZERO) return this.revertPlan(p);
    c.totalSupply += value;
    add(c.balances, lc(to), value);
    this.stAddPart(c, to, part, value);
    this.emitS(p, c.address, S.issued, { operator: c.owner, to, value, data });
    p.emit(c.address, EVENTS.erc20Transfer, { from: ZERO, to, value }, 'erc20');
    this.emitS(p, c.address, S.issuedByPartition, { partition: part, operator: c.owner, to, value, data, operatorData: '0x' });
    return this.queue(p);
  }

  stBurn(p, c, partition, holder, value) {
    if (get(c.parts, key(holder, partition)) < value) return false;
    add(c.parts, key(holder, partition), -value);
    add(c.balances, lc(holder), -value);
    c.totalSupply -= value;
    p.emit(c.address, EVENTS.erc20Transfer, { from: holder, to: ZERO, value }, 'erc20');
    return true;
  }

  // partition null: ERC-1594 redeem() from the default partition.
  stRedeem(c, holder, value, data, partition = null) {
    const p = partition
      ? this.stPlan('erc1400_redeem_by_partition', c, holder, 'redeemByPartition(bytes32,uint256,bytes)', [partition, value, data])
      : this.stPlan('erc1400_redeem', c, holder, 'redeem(uint256,bytes)', [value, data]);
    const part = partition || c.defaultPartition;
    if (get(c.parts, key(holder, part)) < value) return this.revertPlan(p);
    this.emitS(p, c.address, S.redeemed, { operator: holder, from: holder, value, data });
    this.stBurn(p, c, part, holder, value);
    this.emitS(p, c.address, S.redeemedByPartition, { partition: part, operator: holder, from: holder, value, operatorData: '0x' });
    return this.queue(p);
  }

  stSetDocument(c, name, uri, documentHash) {
    const p = this.stPlan('erc1400_set_document', c, c.owner, 'setDocument(bytes32,string,bytes32)', [name, uri, documentHash]);
    c.documents.set(name, { uri, documentHash, timestamp: null });
    c.everDocuments.add(name);
    p.documentName = name;
    this.emitS(p, c.address, S.documentUpdated, { name, uri, documentHash });
    return this.queue(p);
  }

  stRemoveDocument(c, name) {
    const p = this.stPlan('erc1400_remove_document', c, c.owner, 'removeDocument(bytes32)', [name]);
    const d = c.documents.get(name);
    if (!d) return this.revertPlan(p);
    c.documents.delete(name);
    this.emitS(p, c.address, S.documentRemoved, { name, uri: d.uri, documentHash: d.documentHash });
    return this.queue(p);
  }

  stControllerTransfer(c, from, to, value, data, operatorData) {
    const p = this.stPlan('erc1400_controller_transfer', c, c.controller,
      'controllerTransfer(address,address,uint256,bytes,bytes)', [from, to, value, data, operatorData]);
    if (!this.stMove(p, c, c.defaultPartition, c.defaultPartition, from, to, value)) return this.revertPlan(p);
    this.emitS(p, c.address, S.controllerTransfer, { controller: c.controller, from, to, value, data, operatorData });
    return this.queue(p);
  }

  stControllerRedeem(c, holder, value, data, operatorData) {
    const p = this.stPlan('erc1400_controller_redeem', c, c.controller,
      'controllerRedeem(address,uint256,bytes,bytes)', [holder, value, data, operatorData]);
    if (!this.stBurn(p, c, c.defaultPartition, holder, value)) return this.revertPlan(p);
    this.emitS(p, c.address, S.controllerRedemption, { controller: c.controller, tokenHolder: holder, value, data, operatorData });
    return this.queue(p);
  }

  // ---- ERC-3643: registry, compliance, identities ----

  registryDeploy(from) {
    const c = this.byAddress.get(this.deploy(from, 'IdentityRegistry', [], [], 'identity_registry', {}, 1000000n).contractAddress);
    Object.assign(c, { agent: lc(from), identities: new Map(), countries: new Map() });
    return c;
  }

  complianceDeploy(from, registry, blockedCountry) {
    const c = this.byAddress.get(this.deploy(from, 'Compliance', ['address', 'uint16'], [registry.address, blockedCountry],
      'compliance', {}, 1000000n).contractAddress);
    Object.assign(c, { registry, blockedCountry });
    return c;
  }

  identityDeploy(from, owner) {
    return this.byAddress.get(this.deploy(from, 'Identity', ['address'], [owner], 'identity', { owner: lc(owner) }, 400000n).contractAddress);
  }

  registerIdentity(r, user, identity, country) {
    const p = this.tokenCall('identity_register', r, r.agent, 'registerIdentity(address,address,uint16)', [user, identity, country], GAS_CALL);
    if (r.identities.has(lc(user))) return this.revertPlan(p);
    r.identities.set(lc(user), lc(identity));
    r.countries.set(lc(user), country);
    this.emitS(p, r.address, S.identityRegistered, { investorAddress: user, identity });
    return this.queue(p);
  }

  updateCountry(r, user, country) {
    const p = this.tokenCall('identity_update_country', r, r.agent, 'updateCountry(address,uint16)', [user, country], GAS_CALL);
    if (!r.identities.has(lc(user))) return this.revertPlan(p);
    r.countries.set(lc(user), country);
    this.emitS(p, r.address, S.countryUpdated, { investorAddress: user, country });
    return this.queue(p);
  }

  verified(c, user) {
    return c.registry.identities.has(lc(user));
  }

  compliant(c, to) {
    return (c.registry.countries.get(lc(to)) || 0) !== c.compliance.blockedCountry;
  }

  // ---- ERC-3643: the token, direct or behind TokenProxy ----

  trexState(c, meta) {
    Object.assign(c, {
      ...meta, balances: new Map(), allowances: new Map(), totalSupply: 0n, frozen: new Set(), frozenTokens: new Map(),
      nameRaw: meta.name, symbolRaw: meta.symbol,
    });
  }

  trexInitArgs(m) {
    return [m.name, m.symbol, m.decimals, m.registry.address, m.compliance.address, m.onchainID, m.agent];
  }

  trexInitEvents(p, address, m) {
    this.emitS(p, address, S.identityRegistryAdded, { identityRegistry: m.registry.address });
    this.emitS(p, address, S.complianceAdded, { compliance: m.compliance.address });
    this.emitS(p, address, S.updatedTokenInformation,
      { newName: m.name, newSymbol: m.symbol, newDecimals: m.decimals, newVersion: TREX_VERSION, newOnchainID: m.onchainID });
  }

  // The implementation alone: never initialised, used behind proxies.
  trexImplementationDeploy(from) {
    return this.byAddress.get(this.deploy(from, 'TrexToken', [], [], 'erc3643_implementation', {}, 3000000n).contractAddress);
  }

  // A directly deployed token: deployment, then init() in a second
  // transaction (same block is fine).  m: name, symbol, decimals,
  // registry, compliance, onchainID, agent.
  trexDeploy(from, m) {
    const c = this.byAddress.get(this.deploy(from, 'TrexToken', [], [], 'erc3643', {}, 3000000n).contractAddress);
    this.trexState(c, { ...m, owner: lc(from), agent: lc(m.agent) });
    const p = this.tokenCall('erc3643_init', c, from, TREX_INIT, this.trexInitArgs(m), GAS_CALL);
    this.trexInitEvents(p, c.address, m);
    this.queue(p);
    return c;
  }

  // A token behind TokenProxy, initialised by the proxy's constructor.
  trexProxyDeploy(from, impl, m) {
    const initCode = this.art.TokenProxy.bytecode + encode(['address', 'bytes'], [impl.address, callData(TREX_INIT, this.trexInitArgs(m))]);
    const p = this.newPlan('contract_deploy', from, null, 0n, initCode, 1500000n, 2);
    const address = createAddress(from, p.nonce);
    p.contractAddress = address;
    p.root = node('create', null, from, address, 0n, [node('call', 'delegatecall', address, impl.address, 0n)]);
    const c = this.addContract(address, 'TokenProxy', 'erc3643', p, 'transaction', from, { implementation: impl.address });
    this.trexState(c, { ...m, owner: lc(from), agent: lc(m.agent) });
    this.emitS(p, address, S.upgraded, { implementation: impl.address });
    this.trexInitEvents(p, address, m);
    return this.queue(p);
  }

  // Call tree of a call to token c: through the proxy's delegatecall when
  // it has one; inner calls come from the token's (the proxy's) address.
  trexRoot(p, c, children) {
    p.root = c.implementation
      ? node('call', 'call', p.from, c.address, 0n, [node('call', 'delegatecall', c.address, c.implementation, 0n, children)])
      : node('call', 'call', p.from, c.address, 0n, children);
  }

  trexRevert(p) {
    if (p.root.children[0]?.call_type === 'delegatecall') p.root.children[0].reverted = true;
    return this.revertPlan(p);
  }

  isVerifiedCall(c) {
    return node('call', 'staticcall', c.address, c.registry.address, 0n);
  }

  canTransferCall(c) {
    return node('call', 'staticcall', c.address, c.compliance.address, 0n,
      [node('call', 'staticcall', c.compliance.address, c.registry.address, 0n)]);
  }

  trexPlan(kind, c, from, sig, args) {
    const p = this.newPlan(kind, from, c.address, 0n, callData(sig, args), GAS_CALL, this.txType([0.75, 0.25, 0]));
    this.trexRoot(p, c, []);
    return p;
  }

  trexMove(p, c, from, to, amount) {
    add(c.balances, lc(from), -amount);
    add(c.balances, lc(to), amount);
    p.emit(c.address, EVENTS.erc20Transfer, { from, to, value: amount }, 'erc20');
  }

  trexTransfer(c, from, to, amount) {
    const p = this.trexPlan('erc3643_transfer', c, from, 'transfer(address,uint256)', [to, amount]);
    if (c.frozen.has(lc(to)) || c.frozen.has(lc(from))) return this.trexRevert(p);
    if (amount > get(c.balances, lc(from)) - get(c.frozenTokens, lc(from))) return this.trexRevert(p);
    this.trexRoot(p, c, [this.isVerifiedCall(c)]);
    if (!this.verified(c, to)) return this.trexRevert(p);
    this.trexRoot(p, c, [this.isVerifiedCall(c), this.canTransferCall(c)]);
    if (!this.compliant(c, to) || to === ZERO) return this.trexRevert(p);
    this.trexMove(p, c, from, to, amount);
    return this.queue(p);
  }

  trexMint(c, to, amount) {
    const p = this.trexPlan('erc3643_mint', c, c.agent, 'mint(address,uint256)', [to, amount]);
    this.trexRoot(p, c, [this.isVerifiedCall(c)]);
    if (!this.verified(c, to)) return this.trexRevert(p);
    this.trexRoot(p, c, [this.isVerifiedCall(c), this.canTransferCall(c)]);
    if (!this.compliant(c, to)) return this.trexRevert(p);
    c.totalSupply += amount;
    add(c.balances, lc(to), amount);
    p.emit(c.address, EVENTS.erc20Transfer, { from: ZERO, to, value: amount }, 'erc20');
    return this.queue(p);
  }

  trexUnfreezeFor(p, c, user, amount) {
    const free = get(c.balances, lc(user)) - get(c.frozenTokens, lc(user));
    if (amount > free) {
      add(c.frozenTokens, lc(user), -(amount - free));
      this.emitS(p, c.address, S.tokensUnfrozen, { userAddress: user, amount: amount - free });
    }
  }

  trexBurn(c, user, amount) {
    const p = this.trexPlan('erc3643_burn', c, c.agent, 'burn(address,uint256)', [user, amount]);
    if (get(c.balances, lc(user)) < amount) return this.trexRevert(p);
    this.trexUnfreezeFor(p, c, user, amount);
    add(c.balances, lc(user), -amount);
    c.totalSupply -= amount;
    p.emit(c.address, EVENTS.erc20Transfer, { from: user, to: ZERO, value: amount }, 'erc20');
    return this.queue(p);
  }

  trexForcedTransfer(c, from, to, amount) {
    const p = this.trexPlan('erc3643_forced_transfer', c, c.agent, 'forcedTransfer(address,address,uint256)', [from, to, amount]);
    if (get(c.balances, lc(from)) < amount) return this.trexRevert(p);
    this.trexRoot(p, c, [this.isVerifiedCall(c)]);
    if (!this.verified(c, to) || to === ZERO) return this.trexRevert(p);
    this.trexUnfreezeFor(p, c, from, amount);
    this.trexMove(p, c, from, to, amount);
    return this.queue(p);
  }

  trexSetFrozen(c, user, freeze) {
    const p = this.trexPlan('erc3643_set_address_frozen', c, c.agent, 'setAddressFrozen(address,bool)', [user, freeze]);
    if (freeze) c.frozen.add(lc(user));
    else c.frozen.delete(lc(user));
    this.emitS(p, c.address, S.addressFrozen, { userAddress: user, isFrozen: freeze, owner: c.agent });
    return this.queue(p);
  }

  trexFreezeTokens(c, user, amount, freeze = true) {
    const p = freeze
      ? this.trexPlan('erc3643_freeze_tokens', c, c.agent, 'freezePartialTokens(address,uint256)', [user, amount])
      : this.trexPlan('erc3643_unfreeze_tokens', c, c.agent, 'unfreezePartialTokens(address,uint256)', [user, amount]);
    const frozen = get(c.frozenTokens, lc(user));
    if (freeze ? get(c.balances, lc(user)) < frozen + amount : frozen < amount) return this.trexRevert(p);
    add(c.frozenTokens, lc(user), freeze ? amount : -amount);
    this.emitS(p, c.address, freeze ? S.tokensFrozen : S.tokensUnfrozen, { userAddress: user, amount });
    return this.queue(p);
  }

  trexRecovery(c, lost, fresh, onchainID) {
    const p = this.trexPlan('erc3643_recovery', c, c.agent, 'recoveryAddress(address,address,address)', [lost, fresh, onchainID]);
    const amount = get(c.balances, lc(lost));
    if (amount === 0n) return this.trexRevert(p);
    this.trexRoot(p, c, [node('call', 'staticcall', c.address, c.registry.address, 0n)]);
    if (c.registry.identities.get(lc(fresh)) !== lc(onchainID) || fresh === ZERO) return this.trexRevert(p);
    const frozenTokens = get(c.frozenTokens, lc(lost));
    if (frozenTokens !== 0n) {
      c.frozenTokens.set(lc(lost), 0n);
      this.emitS(p, c.address, S.tokensUnfrozen, { userAddress: lost, amount: frozenTokens });
    }
    this.trexMove(p, c, lost, fresh, amount);
    if (frozenTokens !== 0n) {
      add(c.frozenTokens, lc(fresh), frozenTokens);
      this.emitS(p, c.address, S.tokensFrozen, { userAddress: fresh, amount: frozenTokens });
    }
    if (c.frozen.has(lc(lost))) {
      c.frozen.add(lc(fresh));
      this.emitS(p, c.address, S.addressFrozen, { userAddress: fresh, isFrozen: true, owner: c.agent });
    }
    this.emitS(p, c.address, S.recoverySuccess, { lostWallet: lost, newWallet: fresh, investorOnchainID: onchainID });
    return this.queue(p);
  }

  // ---- final state, read back with eth_call ----

  async checkFinalState() {
    await super.checkFinalState();
    const expect = async (c, sig, types, args, want) => {
      const [got] = await this.ethCall(c.address, sig, types, args);
      if (String(got).toLowerCase() !== String(want).toLowerCase()) {
        throw new Error(`${c.contract} ${c.address}: ${sig} ${args.join(',')} is ${got}, expected ${want}`);
      }
    };
    for (const c of this.contracts) {
      if (c.kind === 'erc1400' || c.kind === 'erc3643') {
        await expect(c, 'name()', ['string'], [], c.name);
        await expect(c, 'symbol()', ['string'], [], c.symbol);
        await expect(c, 'decimals()', ['uint8'], [], c.decimals);
        await expect(c, 'totalSupply()', ['uint256'], [], c.totalSupply);
        for (const h of new Set([...this.accounts, ...c.balances.keys()])) {
          await expect(c, 'balanceOf(address)', ['uint256'], [h], get(c.balances, h));
        }
      }
      if (c.kind === 'erc1400') {
        for (const [k, v] of c.parts) {
          const [h, part] = k.split('|');
          await expect(c, 'balanceOfByPartition(bytes32,address)', ['uint256'], [part, h], v);
        }
        for (const name of c.everDocuments) {
          const d = c.documents.get(name);
          await expect(c, 'getDocument(bytes32)', ['string'], [name], d ? d.uri : '');
        }
      } else if (c.kind === 'erc3643') {
        for (const h of this.accounts) {
          await expect(c, 'isFrozen(address)', ['bool'], [h], c.frozen.has(h));
          await expect(c, 'getFrozenTokens(address)', ['uint256'], [h], get(c.frozenTokens, h));
        }
      } else if (c.kind === 'identity_registry') {
        for (const h of this.accounts) {
          await expect(c, 'isVerified(address)', ['bool'], [h], c.identities.has(h));
          await expect(c, 'investorCountry(address)', ['uint16'], [h], c.countries.get(h) || 0);
        }
      }
    }
  }
}
