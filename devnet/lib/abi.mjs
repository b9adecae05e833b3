// abi.mjs: the part of the Solidity ABI the devnet needs: encoding call
// data and event logs for static types (address, uintN, bool, bytes32) and
// the dynamic bytes and string, decoding return values, selectors and
// event topics.  Values: addresses and bytes as 0x-hex, integers as BigInt
// (numbers and decimal strings accepted), strings as JS strings.
import { keccakText, bytesToHex, keccakHex } from './keccak.mjs';

const WORD = 64; // hex digits in a 32-byte word

function isDynamic(type) {
  return type === 'string' || type === 'bytes';
}

function padLeft(hex) {
  if (hex.length > WORD) throw new Error(`abi: value too wide: ${hex}`);
  return hex.padStart(WORD, '0');
}

function padRight(hex) {
  const n = Math.ceil(hex.length / WORD) * WORD;
  return hex.padEnd(n, '0');
}

function encodeStatic(type, v) {
  if (type === 'address') {
    const h = v.toLowerCase().replace(/^0x/, '');
    if (!/^[0-9a-f]{40}$/.test(h)) throw new Error(`abi: bad address ${v}`);
    return padLeft(h);
  }
  if (type === 'bool') return padLeft(v ? '1' : '0');
  if (type === 'bytes32') {
    const h = v.replace(/^0x/, '');
    if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new Error(`abi: bad bytes32 ${v}`);
    return h.toLowerCase();
  }
  const m = /^uint(\d+)$/.exec(type);
  if (m) {
    const n = BigInt(v);
    if (n < 0n || n >= 1n << BigInt(m[1])) throw new Error(`abi: ${v} out of range for ${type}`);
    return padLeft(n.toString(16));
  }
  throw new Error(`abi: unsupported type ${type}`);
}

function encodeDynamic(type, v) {
  const body = type === 'string' ? Buffer.from(v, 'utf8').toString('hex') : v.replace(/^0x/, '').toLowerCase();
  return padLeft((body.length / 2).toString(16)) + padRight(body);
}

/** ABI-encodes values as a tuple of types; returns hex without 0x. */
export function encode(types, values) {
  if (types.length !== values.length) throw new Error('abi: types and values differ in length');
  let head = '';
  let tail = '';
  const headSize = types.length * 32;
  types.forEach((t, i) => {
    if (isDynamic(t)) {
      head += padLeft((headSize + tail.length / 2).toString(16));
      tail += encodeDynamic(t, values[i]);
    } else {
      head += encodeStatic(t, values[i]);
    }
  });
  return head + tail;
}

/** "transfer(address,uint256)" -> its argument types. */
export function signatureTypes(signature) {
  const inner = signature.slice(signature.indexOf('(') + 1, -1);
  return inner === '' ? [] : inner.split(',');
}

/** 4-byte selector of a function signature, as 0x-hex. */
export function selector(signature) {
  return keccakText(signature).slice(0, 10);
}

/** Call data: selector followed by the encoded arguments. */
export function callData(signature, args = []) {
  return selector(signature) + encode(signatureTypes(signature), args);
}

/** Decodes return data of the given types; integers as BigInt. */
export function decode(types, hex) {
  const h = hex.replace(/^0x/, '');
  const word = (i) => {
    const w = h.slice(i * WORD, (i + 1) * WORD);
    if (w.length !== WORD) throw new Error(`abi: return data too short: 0x${h}`);
    return w;
  };
  return types.map((t, i) => {
    const w = word(i);
    if (t === 'address') return `0x${w.slice(24)}`;
    if (t === 'bool') return BigInt(`0x${w}`) !== 0n;
    if (t === 'bytes32') return `0x${w}`;
    if (/^uint\d+$/.test(t)) return BigInt(`0x${w}`);
    if (isDynamic(t)) {
      const off = Number(BigInt(`0x${w}`)) / 32;
      const len = Number(BigInt(`0x${word(off)}`));
      const body = h.slice((off + 1) * WORD, (off + 1) * WORD + 2 * len);
      if (body.length !== 2 * len) throw new Error(`abi: return data too short: 0x${h}`);
      return t === 'string' ? Buffer.from(body, 'hex').toString('utf8') : `0x${body}`;
    }
    throw new Error(`abi: unsupported type ${t}`);
  });
}

/**
 * An event type: {name, signature, topic0, inputs: [{name, type, indexed}]}
 * from a declaration like "Transfer(address indexed from, address indexed
 * to, uint256 value)".
 */
export function eventType(declaration) {
  const name = declaration.slice(0, declaration.indexOf('('));
  const inner = declaration.slice(declaration.indexOf('(') + 1, declaration.lastIndexOf(')'));
  const inputs = inner.split(',').map((p) => {
    const parts = p.trim().split(/\s+/);
    return { type: parts[0], indexed: parts.length === 3 && parts[1] === 'indexed', name: parts[parts.length - 1] };
  });
  const signature = `${name}(${inputs.map((i) => i.type).join(',')})`;
  return { name, signature, topic0: keccakText(signature), inputs };
}

/** The topics and data a log of event type ev with these args carries. */
export function encodeLog(ev, args) {
  const topics = [ev.topic0];
  const dataTypes = [];
  const dataValues = [];
  for (const inp of ev.inputs) {
    if (!(inp.name in args)) throw new Error(`abi: ${ev.name} lacks ${inp.name}`);
    const v = args[inp.name];
    if (inp.indexed) {
      // Indexed dynamic values are stored as their hash.
      topics.push(isDynamic(inp.type) ? keccakHex(inp.type === 'string' ? bytesToHex(Buffer.from(v, 'utf8')) : v) : `0x${encodeStatic(inp.type, v)}`);
    } else {
      dataTypes.push(inp.type);
      dataValues.push(v);
    }
  }
  return { topics, data: `0x${encode(dataTypes, dataValues)}` };
}

/** A string as a right-padded bytes32 (as early tokens stored names). */
export function bytes32String(text) {
  const h = Buffer.from(text, 'utf8').toString('hex');
  if (h.length > WORD) throw new Error(`abi: "${text}" does not fit bytes32`);
  return `0x${h.padEnd(WORD, '0')}`;
}

