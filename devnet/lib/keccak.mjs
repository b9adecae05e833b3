// keccak.mjs: Keccak-256 (the pre-NIST padding Ethereum uses; node's
// crypto only has SHA3-256), hex helpers, and contract address rules
// (CREATE from sender and nonce through RLP, CREATE2 from deployer, salt
// and init code).  The generator computes created addresses with these
// itself instead of trusting the node's receipts, then compares.

const MASK = (1n << 64n) - 1n;
const RC = [];
const ROT = [];
{
  // Round constants from the LFSR, rotation offsets from the (x, y) walk
  // of FIPS 202 section 3.2.
  let r = 1;
  for (let i = 0; i < 24; i++) {
    let c = 0n;
    for (let j = 0; j < 7; j++) {
      if (r & 1) c |= 1n << BigInt((1 << j) - 1);
      r = (r << 1) ^ (r & 0x80 ? 0x171 : 0);
    }
    RC.push(c);
  }
  for (let i = 0; i < 25; i++) ROT.push(0);
  let x = 1;
  let y = 0;
  for (let t = 0; t < 24; t++) {
    ROT[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
    [x, y] = [y, (2 * x + 3 * y) % 5];
  }
}

function rotl(v, n) {
  if (n === 0) return v;
  const b = BigInt(n);
  return ((v << b) | (v >> (64n - b))) & MASK;
}

function keccakF(s) {
  const c = new Array(5);
  const b = new Array(25);
  for (let round = 0; round < 24; round++) {
    for (let x = 0; x < 5; x++) c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
      for (let y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    for (let x = 0; x < 5; x++) {
      for (let y = 0; y < 5; y++) {
        b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y], ROT[x + 5 * y]);
      }
    }
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        s[x + y] = b[x + y] ^ (~b[((x + 1) % 5) + y] & MASK & b[((x + 2) % 5) + y]);
      }
    }
    s[0] ^= RC[round];
  }
}

/** keccak256(Uint8Array) -> Uint8Array(32). */
export function keccak256(data) {
  const rate = 136;
  const padded = new Uint8Array(Math.floor(data.length / rate + 1) * rate);
  padded.set(data);
  padded[data.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const s = new Array(25).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let k = 7; k >= 0; k--) lane = (lane << 8n) | BigInt(padded[off + i * 8 + k]);
      s[i] ^= lane;
    }
    keccakF(s);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) {
    let lane = s[i];
    for (let k = 0; k < 8; k++) {
      out[i * 8 + k] = Number(lane & 0xffn);
      lane >>= 8n;
    }
  }
  return out;
}

export function hexToBytes(hex) {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

export function concatBytes(...parts) {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

/** keccak256 of a UTF-8 string, as 0x-hex (topics, selectors). */
export function keccakText(text) {
  return bytesToHex(keccak256(new TextEncoder().encode(text)));
}

/** keccak256 of 0x-hex bytes, as 0x-hex. */
export function keccakHex(hex) {
  return bytesToHex(keccak256(hexToBytes(hex)));
}

function rlpBytes(b) {
  if (b.length === 1 && b[0] < 0x80) return b;
  if (b.length > 55) throw new Error('rlp: long strings not needed here');
  return concatBytes([0x80 + b.length], b);
}

function rlpList(items) {
  const body = concatBytes(...items);
  if (body.length > 55) throw new Error('rlp: long lists not needed here');
  return concatBytes([0xc0 + body.length], body);
}

function uintBytes(n) {
  let v = BigInt(n);
  const out = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return new Uint8Array(out);
}

/** Address of the contract that `sender` creates with CREATE at `nonce`. */
export function createAddress(sender, nonce) {
  const h = keccak256(rlpList([rlpBytes(hexToBytes(sender)), rlpBytes(uintBytes(nonce))]));
  return bytesToHex(h.slice(12));
}

/** Address of the contract that `deployer` creates with CREATE2. */
export function create2Address(deployer, salt, initCode) {
  const h = keccak256(
    concatBytes([0xff], hexToBytes(deployer), hexToBytes(salt), keccak256(hexToBytes(initCode))),
  );
  return bytesToHex(h.slice(12));
}
