// rpc.mjs: a minimal JSON-RPC 2.0 client over HTTP on node's global fetch.
// Every reply is checked for its id and for an error object; an error
// becomes an exception that names the method and its parameters.

export class Rpc {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
  }

  async call(method, params = []) {
    const id = this.nextId++;
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status} from ${this.url}`);
    const reply = await res.json();
    if (reply.id !== id) throw new Error(`${method}: reply id ${reply.id}, sent ${id}`);
    if (reply.error) {
      throw new Error(`${method}(${JSON.stringify(params)}): ${reply.error.message} (${reply.error.code})`);
    }
    if (!('result' in reply)) throw new Error(`${method}: reply without result`);
    return reply.result;
  }
}
