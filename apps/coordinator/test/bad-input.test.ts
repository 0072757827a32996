/**
 * Acceptance: bad and hostile input. Every case gets its documented error code, the process stays up, and the store
 * is byte-for-byte the same as before the case (a snapshot of every table, blobs by checksum).
 */
import { initialModuleState, type ModuleState } from '@facmic/learning';
import {
  crc32,
  decodeTensors,
  encodeTensors,
  PROTOCOL_VERSION,
  readConnectError,
  type Ack,
  type FederationDetail,
  type InviteCreated,
} from '@facmic/protocol';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createInvite, createTestFederation, rawAdminSocket, rawSiteSocket, startTestCoordinator, TEST_DIM, waitFor, type TestCoordinator } from './helpers.ts';

function emitAck(socket: Socket, event: string, ...args: unknown[]): Promise<Ack<Record<string, unknown>>> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<Ack<Record<string, unknown>>>;
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => { resolve(); });
    socket.once('connect_error', reject);
  });
}

/** The refusal code of a handshake that must fail. */
function refusal(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.close();
      resolve('CONNECTED');
    });
    socket.once('connect_error', (error) => {
      socket.close();
      resolve(readConnectError(error)?.code ?? `network: ${error.message}`);
    });
  });
}

/** Rewrites the CRC-32 trailer after tampering, so that only the tampering is wrong. */
function withChecksum(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.byteLength - 4, crc32(out.subarray(0, out.byteLength - 4)), true);
  return out;
}

/** Puts `value` into the first float32 of tensor `name`'s data. */
function tamper(state: ModuleState, name: string, value: number): Uint8Array {
  const copy: ModuleState = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, { shape: v.shape, data: v.data.slice() }]));
  copy[name]!.data[0] = 0.123456;
  const bytes = encodeTensors(copy).bytes;
  const view = new DataView(bytes.buffer);
  for (let offset = 0; offset + 4 <= bytes.byteLength - 4; offset += 4) {
    if (view.getFloat32(offset, true) === Math.fround(0.123456)) {
      view.setFloat32(offset, value, true);
      return withChecksum(bytes);
    }
  }
  throw new Error('marker not found');
}


/** Names that Object.prototype has: as keys chosen by a client they must be looked up as own properties only. */
const INHERITED_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] as const;

/** A module state with one more tensor, named by the client. */
function withExtraTensor(state: ModuleState, name: string): Uint8Array {
  // Object.fromEntries defines own properties, `__proto__` included.
  return encodeTensors(Object.fromEntries([...Object.entries(state), [name, { shape: [2], data: new Float32Array([1, 2]) }]])).bytes;
}

/**
 * An 8-bit update of `goodState` against round 0's global model, made malformed one way: another base round, a -128
 * code in its first tensor, an edited first int8 header entry or header, or another format version.
 */
interface Int8Defect {
  round?: number;
  code?: number;
  edit?: (entry: { scale?: number }) => void;
  header?: (header: { baseRound?: number }) => void;
  version?: number;
}
function malformedInt8Update(state: ModuleState, base: ModuleState, defect: Int8Defect): Uint8Array {
  const counters = Object.keys(state).filter((name) => !name.endsWith('weight') && !name.endsWith('bias'));
  let bytes = encodeTensors(state, { dtype: 'int8', base: { round: defect.round ?? 0, tensors: base }, float32Names: counters }).bytes;
  bytes = rewriteHeader(bytes, (h) => {
    const header = h as unknown as { baseRound?: number; tensors: { dtype: string; scale?: number }[] };
    const entry = header.tensors.find((e) => e.dtype === 'int8')!;
    defect.edit?.(entry);
    defect.header?.(header);
  });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (defect.code !== undefined) bytes[(12 + view.getUint32(8, true) + 3) & ~3] = defect.code & 0xff;
  if (defect.version !== undefined) view.setUint16(4, defect.version, true);
  return withChecksum(bytes);
}

/**
 * Rewrites a tensor file's preamble and header (same data section), then its trailer: a file whose declared sizes
 * (header length, shapes) disagree with its real size, with a valid checksum.
 */
function rewriteHeader(bytes: Uint8Array, edit: (header: { tensors: { name: string; shape: number[]; dtype: string }[] }) => void, headerLength?: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as { tensors: { name: string; shape: number[]; dtype: string }[] };
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = (12 + length + 3) & ~3;
  const newStart = (12 + json.length + 3) & ~3;
  const data = bytes.subarray(dataStart, bytes.byteLength - 4);
  const out = new Uint8Array(newStart + data.byteLength + 4);
  out.set(bytes.subarray(0, 12), 0);
  new DataView(out.buffer).setUint32(8, headerLength ?? json.length, true);
  out.set(json, 12);
  out.set(data, newStart);
  return withChecksum(out);
}

/**
 * A raw HTTP request that declares `declared` body bytes and sends `body`: the status line and code of the answer,
 * and whether the coordinator closed the connection, or NO ANSWER within 3 s.
 */
function declaredBody(url: string, path: string, declared: string, body: string, token: string | null): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('NO ANSWER');
    }, 3000);
    socket.on('data', (chunk) => { text += chunk.toString('latin1'); });
    socket.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 'none';
      const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? '';
      resolve(`${status} ${code} closed`);
    });
    socket.on('error', () => { /* reported by close */ });
    const auth = token === null ? '' : `Authorization: Bearer ${token}\r\n`;
    socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${auth}Content-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${body}`);
  });
}

/** Every code of the protocol README's error table. */
function documentedCodes(): string[] {
  const readme = readFileSync(new URL('../../../packages/protocol/README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## Error codes'));
  return [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1] as string);
}

/**
 * Documented codes that this table cannot provoke without changing the store (each needs a state set up first), and
 * the test that answers with each one.
 */
const CODES_SENT_ELSEWHERE: Record<string, string> = {
  FEDERATION_STOPPED: 'apps/coordinator/src/engine.test.ts',
  FEDERATION_FINISHED: 'apps/coordinator/src/engine.test.ts',
  STALE_ROUND: 'apps/coordinator/src/engine.test.ts',
  ROUND_CLOSED: 'apps/coordinator/src/engine.test.ts',
  DUPLICATE_SUBMISSION: 'apps/coordinator/src/engine.test.ts',
  FEDERATION_PAUSED: 'apps/coordinator/src/submission-check.test.ts',
  SESSION_REPLACED: 'apps/coordinator/test/site-client.test.ts',
  ENCODER_UNAVAILABLE: 'apps/coordinator/test/http.test.ts',
};

describe('bad input', () => {
  let t: TestCoordinator;
  let federation: FederationDetail;
  let other: FederationDetail;
  let site: Socket;
  let flooder: Socket;
  let revoked: InviteCreated;
  let goodState: ModuleState;
  let baseSubmission: Record<string, unknown>;

  beforeAll(async () => {
    t = await startTestCoordinator({
      config: { maxMessageBytes: 1024 * 1024, maxBodyBytes: 256 * 1024, socketMessagesPerSecond: 20, socketBurst: 40, authFailuresPerMinute: 10_000 },
    });
    federation = await createTestFederation(t, { quorum: 1, rounds: 5, roundDeadlineSeconds: 3600, globalTest: null });
    other = await createTestFederation(t, { name: 'Other', quorum: 1, globalTest: null });
    const invite = await createInvite(t, federation.config.id, 'Hospital A');
    const second = await createInvite(t, federation.config.id, 'Hospital B');
    revoked = await createInvite(t, federation.config.id, 'Hospital C');
    const revocation = await api(t.url, `/api/federations/${federation.config.id}/invites/${revoked.site.id}`, { method: 'DELETE', token: t.adminToken });
    expect(revocation.status).toBe(200);

    site = rawSiteSocket(t.url, { protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id, siteToken: invite.token });
    await connected(site);
    const ready = await emitAck(site, 'site:ready', { encoderHash: federation.config.encoder.hash, trainSamples: 10, testSamples: 0 });
    expect(ready.ok).toBe(true);
    await waitFor(() => t.store.getFederation(federation.config.id)?.status === 'training');
    flooder = rawSiteSocket(t.url, { protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id, siteToken: second.token });
    await connected(flooder);

    goodState = initialModuleState('facmic', TEST_DIM, 7);
    baseSubmission = {
      federationId: federation.config.id,
      round: 1,
      sampleCount: 10,
      weights: encodeTensors(goodState).bytes,
      metrics: { trainLoss: 1, steps: 1, trainSeconds: 0.1, globalModel: null, localModel: null },
    };
  });

  afterAll(async () => {
    site.close();
    flooder.close();
    await t.close();
  });

  const submit = (patch: Record<string, unknown>) => async () => {
    const ack = await emitAck(site, 'round:submit', { ...baseSubmission, ...patch });
    return ack.ok ? 'OK' : ack.code;
  };
  const int8Update = (defect: Int8Defect) => malformedInt8Update(goodState, decodeTensors(t.store.getGlobalModel(federation.config.id, 0)!.weights).tensors, defect);
  const siteEvent = (event: string, ...args: unknown[]) => async () => {
    const ack = await emitAck(site, event, ...args);
    return ack.ok ? 'OK' : ack.code;
  };
  const handshake = (auth: () => unknown) => () => refusal(rawSiteSocket(t.url, auth()));
  const rest = (path: string | (() => string), init: () => Parameters<typeof api>[2] = () => ({})) => async () => {
    const { status, body } = await api(t.url, typeof path === 'string' ? path : path(), init());
    return `${status} ${(body as { code?: string } | null)?.code ?? ''}`;
  };

  const cases: [string, () => Promise<string>, string][] = [
    // site messages, malformed
    ['site:ready with a string payload', siteEvent('site:ready', 'hello'), 'MALFORMED_MESSAGE'],
    ['site:ready without encoder hash', siteEvent('site:ready', { trainSamples: 1, testSamples: 1 }), 'MALFORMED_MESSAGE'],
    ['site:ready with another encoder', siteEvent('site:ready', { encoderHash: 'f'.repeat(64), trainSamples: 1, testSamples: 1 }), 'ENCODER_MISMATCH'],
    ['site:status with an unknown phase', siteEvent('site:status', { phase: 'hacking', progress: null, round: null, message: null }), 'MALFORMED_MESSAGE'],
    ['model:get of round -1', siteEvent('model:get', { round: -1 }), 'MALFORMED_MESSAGE'],
    ['model:get of a future round', siteEvent('model:get', { round: 99 }), 'NOT_FOUND'],
    ['features:get with extra fields', siteEvent('features:get', { all: true }), 'MALFORMED_MESSAGE'],
    ['two payload arguments', siteEvent('model:get', { round: 0 }, { round: 1 }), 'MALFORMED_MESSAGE'],
    ['an unknown event', siteEvent('admin:takeover', { please: true }), 'UNKNOWN_EVENT'],
    // submissions
    ['weights as text', submit({ weights: 'AAAA' }), 'MALFORMED_MESSAGE'],
    ['metrics out of range', submit({ metrics: { trainLoss: 1, steps: 1, trainSeconds: 1, globalModel: { accuracy: 2, balancedAccuracy: 1, samples: 1 }, localModel: null } }), 'MALFORMED_MESSAGE'],
    ['sample count 0', submit({ sampleCount: 0 }), 'BAD_SAMPLE_COUNT'],
    ['negative sample count', submit({ sampleCount: -5 }), 'BAD_SAMPLE_COUNT'],
    ['huge sample count', submit({ sampleCount: 1e12 }), 'BAD_SAMPLE_COUNT'],
    ['fractional sample count', submit({ sampleCount: 2.5 }), 'BAD_SAMPLE_COUNT'],
    ['wrong shapes (another dimension)', submit({ weights: encodeTensors(initialModuleState('facmic', 8, 1)).bytes }), 'WEIGHTS_SHAPE_MISMATCH'],
    ['another module (FedCLIP state)', submit({ weights: encodeTensors(initialModuleState('fedclip', TEST_DIM, 1)).bytes }), 'WEIGHTS_SHAPE_MISMATCH'],
    [
      'a missing tensor',
      submit({ weights: encodeTensors(Object.fromEntries(Object.entries(initialModuleState('facmic', TEST_DIM, 1)).filter(([k]) => k !== '3.bias'))).bytes }),
      'WEIGHTS_SHAPE_MISMATCH',
    ],
    ['NaN in the weights', async () => submit({ weights: tamper(goodState, '0.weight', NaN) })(), 'NON_FINITE_WEIGHTS'],
    ['Infinity in the weights', async () => submit({ weights: tamper(goodState, '3.bias', Infinity) })(), 'NON_FINITE_WEIGHTS'],
    ['a negative BatchNorm counter', async () => submit({ weights: tamper(goodState, '1.num_batches_tracked', -1) })(), 'BAD_WEIGHTS'],
    ['a corrupted checksum', async () => {
      const bytes = encodeTensors(goodState).bytes;
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
      return submit({ weights: bytes })();
    }, 'BAD_WEIGHTS'],
    ['random bytes as weights', submit({ weights: Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff) }), 'BAD_WEIGHTS'],
    ['oversized weights (within the frame limit)', submit({ weights: new Uint8Array(300 * 1024) }), 'PAYLOAD_TOO_LARGE'],
    ['a round that has not started', submit({ round: 2 }), 'WRONG_ROUND'],
    ['round 0', submit({ round: 0 }), 'MALFORMED_MESSAGE'],
    ['another federation', async () => submit({ federationId: other.config.id })(), 'FOREIGN_SUBMISSION'],
    // a site that has not sent site:ready on its connection (the flooder, before its flood)
    ['model:get before site:ready', async () => {
      const ack = await emitAck(flooder, 'model:get', { round: 0 });
      return ack.ok ? 'OK' : ack.code;
    }, 'NOT_READY'],
    ['a submission from a site that is not a participant', async () => {
      const ack = await emitAck(flooder, 'round:submit', baseSubmission);
      return ack.ok ? 'OK' : ack.code;
    }, 'NOT_A_PARTICIPANT'],
    // one field failing several checks answers with the field's code
    ['sample count 1e308 (too large and not a safe integer)', submit({ sampleCount: 1e308 }), 'BAD_SAMPLE_COUNT'],
    // inherited property names as keys chosen by the client
    ...INHERITED_NAMES.map((name): [string, () => Promise<string>, string] => [`an extra tensor named ${name}`, async () => submit({ weights: withExtraTensor(goodState, name) })(), 'WEIGHTS_SHAPE_MISMATCH']),
    ...INHERITED_NAMES.map((name): [string, () => Promise<string>, string] => [`an event named ${name}`, siteEvent(name, {}), 'UNKNOWN_EVENT']),
    ['site:status with phase "constructor"', siteEvent('site:status', { phase: 'constructor', progress: null, round: null, message: null }), 'MALFORMED_MESSAGE'],
    ['features:get with an own __proto__ key', siteEvent('features:get', JSON.parse('{"__proto__": {"all": true}}')), 'MALFORMED_MESSAGE'],
    ['a federation named "constructor" (handshake)', handshake(() => ({ protocolVersion: PROTOCOL_VERSION, federationId: 'constructor', siteToken: 'x'.repeat(43) })), 'UNKNOWN_FEDERATION'],
    ['a federation named "constructor" (REST)', rest('/api/federations/constructor', () => ({ token: t.adminToken })), '404 NOT_FOUND'],
    ['a federation named "__proto__" (REST)', rest('/api/federations/__proto__', () => ({ token: t.adminToken })), '400 BAD_REQUEST'],
    ['revoke a site named "constructor"', rest(() => `/api/federations/${federation.config.id}/invites/constructor`, () => ({ method: 'DELETE', token: t.adminToken })), '404 NOT_FOUND'],
    ['a federation body with an own __proto__ key', rest('/api/federations', () => ({ method: 'POST', token: t.adminToken, rawBody: '{"__proto__": {"rounds": 3}, "name": "x", "classNames": ["a", "b"]}' })), '400 BAD_REQUEST'],
    ['a PATCH with a "constructor" field', rest(() => `/api/federations/${federation.config.id}`, () => ({ method: 'PATCH', token: t.adminToken, rawBody: '{"constructor": 1}' })), '400 BAD_REQUEST'],
    // declared sizes against real sizes
    ['a declared body of 2 GiB with 8 bytes sent', () => declaredBody(t.url, '/api/federations', '2147483648', '{"a":12}', t.adminToken), '413 PAYLOAD_TOO_LARGE closed'],
    ['a declared body above the limit without a token', () => declaredBody(t.url, '/api/federations', String(300 * 1024), '{}', null), '413 PAYLOAD_TOO_LARGE closed'],
    ['a weights header length beyond the file', async () => submit({ weights: rewriteHeader(encodeTensors(goodState).bytes, () => undefined, 0xfffffff0) })(), 'BAD_WEIGHTS'],
    ['a weights header declaring more data than sent', async () => submit({ weights: rewriteHeader(encodeTensors(goodState).bytes, (h) => { h.tensors[0]!.shape = h.tensors[0]!.shape.map((d) => d * 2); }) })(), 'BAD_WEIGHTS'],
    ['a weights header declaring less data than sent', async () => submit({ weights: rewriteHeader(encodeTensors(goodState).bytes, (h) => { h.tensors = h.tensors.slice(1); }) })(), 'BAD_WEIGHTS'],
    ['weights declared float16, sent as float32', async () => submit({ weights: rewriteHeader(encodeTensors(goodState).bytes, (h) => { for (const e of h.tensors) e.dtype = 'float16'; }) })(), 'BAD_WEIGHTS'],
    // 8-bit updates: deltas from the round's global model (round 0's here)
    ['an 8-bit update taken from another round\'s model', async () => submit({ weights: int8Update({ round: 3 }) })(), 'BAD_WEIGHTS'],
    ['an 8-bit update with the code -128', async () => submit({ weights: int8Update({ code: -128 }) })(), 'BAD_WEIGHTS'],
    ['an 8-bit update without a scale', async () => submit({ weights: int8Update({ edit: (e) => { delete e.scale; } }) })(), 'BAD_WEIGHTS'],
    ['an 8-bit update with a negative scale', async () => submit({ weights: int8Update({ edit: (e) => { e.scale = -1; } }) })(), 'BAD_WEIGHTS'],
    ['an 8-bit update with no base round', async () => submit({ weights: int8Update({ header: (h) => { delete h.baseRound; } }) })(), 'BAD_WEIGHTS'],
    ['an 8-bit tensor in a version 1 file', async () => submit({ weights: int8Update({ version: 1 }) })(), 'BAD_WEIGHTS'],
    // floods
    ['a flood of status reports', async () => {
      const acks = await Promise.all(
        Array.from({ length: 150 }, () => emitAck(flooder, 'site:status', { phase: 'waiting', progress: null, round: null, message: null })),
      );
      return acks.some((a) => !a.ok && a.code === 'RATE_LIMITED') ? 'RATE_LIMITED' : 'NOT LIMITED';
    }, 'RATE_LIMITED'],
    // handshakes
    ['protocol version 0', handshake(() => ({ protocolVersion: 0, federationId: federation.config.id, siteToken: 'x'.repeat(20) })), 'CLIENT_TOO_OLD'],
    ['a newer protocol version', handshake(() => ({ protocolVersion: PROTOCOL_VERSION + 1, federationId: federation.config.id, siteToken: 'x'.repeat(20) })), 'SERVER_TOO_OLD'],
    ['no token', handshake(() => ({ protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id })), 'BAD_HANDSHAKE'],
    ['no auth at all', handshake(() => undefined), 'BAD_HANDSHAKE'],
    ['an unknown federation', handshake(() => ({ protocolVersion: PROTOCOL_VERSION, federationId: 'nope', siteToken: 'x'.repeat(20) })), 'UNKNOWN_FEDERATION'],
    ['a wrong token', handshake(() => ({ protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id, siteToken: 'x'.repeat(43) })), 'BAD_TOKEN'],
    ['a revoked token', handshake(() => ({ protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id, siteToken: revoked.token })), 'TOKEN_REVOKED'],
    ["another federation's token", handshake(() => ({ protocolVersion: PROTOCOL_VERSION, federationId: other.config.id, siteToken: revoked.token })), 'BAD_TOKEN'],
    ['a wrong admin token', () => refusal(rawAdminSocket(t.url, 'not-the-admin-token-at-all')), 'UNAUTHORIZED'],
    // admin socket
    ['federation:get of an unknown federation', async () => {
      const socket = rawAdminSocket(t.url, t.adminToken);
      await connected(socket);
      const ack = await emitAck(socket, 'federation:get', { federationId: 'nope' });
      socket.close();
      return ack.ok ? 'OK' : ack.code;
    }, 'NOT_FOUND'],
    ['federation:get without an id', async () => {
      const socket = rawAdminSocket(t.url, t.adminToken);
      await connected(socket);
      const ack = await emitAck(socket, 'federation:get', {});
      socket.close();
      return ack.ok ? 'OK' : ack.code;
    }, 'MALFORMED_MESSAGE'],
    ['a frame above the transport limit', async () => {
      const socket = rawAdminSocket(t.url, t.adminToken);
      await connected(socket);
      const reason = await new Promise<string>((resolve) => {
        socket.once('disconnect', (r) => { resolve(r); });
        socket.emit('federation:list', { padding: new Uint8Array(1536 * 1024) });
      });
      socket.close();
      // Documented: frames above maxHttpBufferSize close the connection.
      return reason === 'transport close' || reason === 'transport error' ? 'PAYLOAD_TOO_LARGE' : reason;
    }, 'PAYLOAD_TOO_LARGE'],
    // REST
    ['REST without a token', rest('/api/federations'), '401 UNAUTHORIZED'],
    ['REST with a wrong token', rest('/api/federations', () => ({ token: 'wrong-token-wrong-token' })), '401 UNAUTHORIZED'],
    ['a federation with one class', rest('/api/federations', () => ({ method: 'POST', token: t.adminToken, body: { name: 'x', classNames: ['a'] } })), '400 BAD_REQUEST'],
    ['a federation with an unknown field', rest('/api/federations', () => ({ method: 'POST', token: t.adminToken, body: { name: 'x', classNames: ['a', 'b'], owner: 'me' } })), '400 BAD_REQUEST'],
    ['a federation whose reference folder does not exist', rest('/api/federations', () => ({ method: 'POST', token: t.adminToken, body: { name: 'x', classNames: ['a', 'b'], reference: { kind: 'folder', path: '/no/such/folder' } } })), '400 BAD_REQUEST'],
    ['invalid JSON', rest('/api/federations', () => ({ method: 'POST', token: t.adminToken, rawBody: '{"name": ' })), '400 BAD_REQUEST'],
    ['a body above the limit', rest('/api/federations', () => ({ method: 'POST', token: t.adminToken, rawBody: JSON.stringify({ name: 'x'.repeat(300 * 1024) }) })), '413 PAYLOAD_TOO_LARGE'],
    ['an empty PATCH', rest(() => `/api/federations/${federation.config.id}`, () => ({ method: 'PATCH', token: t.adminToken, body: {} })), '400 BAD_REQUEST'],
    ['zero rounds', rest(() => `/api/federations/${federation.config.id}`, () => ({ method: 'PATCH', token: t.adminToken, body: { rounds: 0 } })), '400 BAD_REQUEST'],
    ['an invite without a name', rest(() => `/api/federations/${federation.config.id}/invites`, () => ({ method: 'POST', token: t.adminToken, body: {} })), '400 BAD_REQUEST'],
    ['a malformed federation id', rest('/api/federations/NOT%20AN%20ID', () => ({ token: 'x' })), '401 UNAUTHORIZED'],
    ['a malformed federation id (admin)', rest('/api/federations/NOT%20AN%20ID', () => ({ token: t.adminToken })), '400 BAD_REQUEST'],
    ['an unknown federation (REST)', rest('/api/federations/no-such-federation', () => ({ token: t.adminToken })), '404 NOT_FOUND'],
    ['resume a federation that is not paused', rest(() => `/api/federations/${federation.config.id}/resume`, () => ({ method: 'POST', token: t.adminToken })), '409 INVALID_TRANSITION'],
    ['a model round that is not a number', rest(() => `/api/federations/${federation.config.id}/models/abc`, () => ({ token: t.adminToken })), '400 BAD_REQUEST'],
    ['a model round that does not exist', rest(() => `/api/federations/${federation.config.id}/models/42`, () => ({ token: t.adminToken })), '404 NOT_FOUND'],
    ['revoke an unknown site', rest(() => `/api/federations/${federation.config.id}/invites/site-nobody`, () => ({ method: 'DELETE', token: t.adminToken })), '404 NOT_FOUND'],
    ['an unknown API route', rest('/api/everything', () => ({ token: t.adminToken })), '404 NOT_FOUND'],
    ['an audit query with a bad limit', rest('/api/audit?limit=-3', () => ({ token: t.adminToken })), '400 BAD_REQUEST'],
  ];

  it('has at least 70 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(70);
  });

  it('provokes every documented error code, here or in the test named for it', () => {
    const provoked = new Set(cases.map(([, , expected]) => expected.replace(/^\d{3} /, '').replace(/ closed$/, '')));
    const missing: string[] = [];
    for (const code of documentedCodes()) {
      if (provoked.has(code) || code === 'INTERNAL_ERROR') continue;
      const elsewhere = CODES_SENT_ELSEWHERE[code];
      const file = elsewhere === undefined ? '' : readFileSync(new URL(`../../../${elsewhere}`, import.meta.url), 'utf8');
      if (!file.includes(`'${code}'`)) missing.push(code);
    }
    expect(missing).toEqual([]);
    expect(documentedCodes().length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map(([name, run, expected]) => [name, expected, run] as const))('%s -> %s', async (_name, expected, run) => {
    const before = t.store.snapshot();
    const got = await run();
    expect(got).toBe(expected);
    // Let the coordinator finish whatever the input set off, then compare.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(t.store.snapshot()).toEqual(before);
    const health = await api(t.url, '/healthz');
    expect(health.status).toBe(200);
  });

  it('still works after all that: the valid submission is accepted, and again idempotently', async () => {
    expect(site.connected).toBe(true);
    const first = await emitAck(site, 'round:submit', baseSubmission);
    expect(first).toMatchObject({ ok: true, duplicate: false, round: 1 });
    const again = await emitAck(site, 'round:submit', baseSubmission);
    expect(again).toMatchObject({ ok: true, duplicate: true, round: 1 });
    const metrics = await api(t.url, '/metrics');
    expect(String(metrics.body)).toMatch(/facmic_refusals_total\{code="BAD_SAMPLE_COUNT"\} 5/);
  });
});

describe('authentication rate limits', () => {
  let t: TestCoordinator;
  beforeAll(async () => {
    t = await startTestCoordinator({ config: { authFailuresPerMinute: 5 } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a handshake with RATE_LIMITED after repeated bad tokens, store unchanged', async () => {
    const federation = await createTestFederation(t, { globalTest: null });
    const invite = await createInvite(t, federation.config.id, 'Hospital A');
    const before = t.store.snapshot();
    const codes: string[] = [];
    for (let i = 0; i < 7; i++) {
      codes.push(await refusal(rawSiteSocket(t.url, { protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id, siteToken: `wrong-token-${i}-xxxxxxxxxxxx` })));
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('BAD_TOKEN'));
    expect(codes.slice(5)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    // Even the right token waits until the window passes.
    expect(await refusal(rawSiteSocket(t.url, { protocolVersion: PROTOCOL_VERSION, federationId: federation.config.id, siteToken: invite.token }))).toBe('RATE_LIMITED');
    expect(t.store.snapshot()).toEqual(before);
  });

  it('answers 429 RATE_LIMITED to REST after repeated bad admin tokens, and keeps serving good ones', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await api(t.url, '/api/federations', { token: `wrong-admin-token-${i}` })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    const limited = await api(t.url, '/api/federations', { token: 'wrong-admin-token-x' });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
  });
});
