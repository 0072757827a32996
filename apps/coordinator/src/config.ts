/**
 * Start-up settings from command-line flags (`node:util` parseArgs) and the environment (a zod schema), flags
 * winning. A bad value stops start-up with a message naming the setting.
 *
 * | flag | environment | default |
 * |---|---|---|
 * | `--port` | `PORT` | 3000 |
 * | `--host` | `HOST` | 127.0.0.1 (use 0.0.0.0 to accept other machines) |
 * | `--data-dir` | `FACMIC_DATA_DIR` | ./data (SQLite file `coordinator.sqlite`) |
 * | (none) | `FACMIC_ADMIN_TOKEN` | generated on first start, printed once |
 * | `--models-dir` | `FACMIC_MODELS_DIR` | ./models |
 * | `--model` | `FACMIC_MODEL` | the paper's CLIP if in the models folder, else the generated tiny CLIP |
 * | `--web-dir` | `FACMIC_WEB_DIR` | ./dist/web |
 * | `--public-url` | `FACMIC_PUBLIC_URL` | http://<host>:<port> (base of invite links) |
 * | `--virtual-sites` | `FACMIC_VIRTUAL_SITES` | 0 |
 * | `--no-demo` | `FACMIC_DEMO=0` | demo federation created when none exists |
 * | `--max-message-mb` | `FACMIC_MAX_MESSAGE_MB` | 4 |
 * | `--keep-submission-weights` | `FACMIC_KEEP_SUBMISSION_WEIGHTS` | all (or a number of rounds) |
 * | `--no-cross-origin-isolation` | `FACMIC_CROSS_ORIGIN_ISOLATION=0` | on: COOP/COEP, so ONNX Runtime's wasm uses threads |
 * | `--trust-proxy` | `FACMIC_TRUST_PROXY=1` | off |
 * | `--log-level` | `FACMIC_LOG_LEVEL` | info |
 * | `--reset-admin-token` | (none) | off: prints a new admin token, the old one stops working |
 *
 * Yes/no flags also take `--no-<flag>` and `--<flag>=0|1`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { LogLevel } from './logger.ts';

export interface StartupConfig {
  port: number;
  host: string;
  dataDir: string;
  adminToken: string | null;
  modelsDir: string;
  model: string | null;
  webDir: string;
  publicUrl: string | null;
  virtualSites: number;
  demo: boolean;
  maxMessageBytes: number;
  keepSubmissionWeightsRounds: number | null;
  crossOriginIsolation: boolean;
  trustProxy: boolean;
  logLevel: LogLevel;
  resetAdminToken: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const satisfies readonly LogLevel[];
const YES = ['1', 'true', 'yes', 'on'];
const NO = ['0', 'false', 'no', 'off'];

/** A setting's text (from a flag or the environment) to its value; the message says what is wrong with it. */
function text<T>(read: (value: string) => T | undefined, problem: (value: string) => string) {
  return z.string().transform((raw, ctx) => {
    const value = read(raw.trim());
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: problem(raw) });
      return z.NEVER;
    }
    return value;
  });
}

const integer = (min: number, max: number) =>
  text((v) => (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? Number(v) : undefined), (v) => `"${v}" is not an integer from ${min} to ${max}`);
const yesNo = text((v) => (YES.includes(v.toLowerCase()) ? true : NO.includes(v.toLowerCase()) ? false : undefined), (v) => `"${v}" is not a yes/no value (1/0, true/false)`);
const plain = text((v) => v, () => '');
const httpUrl = text(
  (v) => {
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:' ? v : undefined;
    } catch {
      return undefined;
    }
  },
  (v) => (URL.canParse(v) ? 'use an http(s) URL' : `"${v}" is not a URL`),
);

/** Every setting: its flag, its environment variable, and how its text is read. */
const SETTINGS = {
  port: { flag: 'port', env: 'PORT', read: integer(0, 65535) },
  host: { flag: 'host', env: 'HOST', read: text((v) => (/^[A-Za-z0-9.:[\]-]+$/.test(v) ? v : undefined), (v) => `"${v}" is not a host name or address`) },
  dataDir: { flag: 'data-dir', env: 'FACMIC_DATA_DIR', read: plain },
  adminToken: { flag: null, env: 'FACMIC_ADMIN_TOKEN', read: text((v) => (/^[\x21-\x7e]{16,512}$/.test(v) ? v : undefined), () => 'the admin token must be 16 to 512 printable characters without spaces') },
  modelsDir: { flag: 'models-dir', env: 'FACMIC_MODELS_DIR', read: plain },
  model: { flag: 'model', env: 'FACMIC_MODEL', read: plain },
  webDir: { flag: 'web-dir', env: 'FACMIC_WEB_DIR', read: plain },
  publicUrl: { flag: 'public-url', env: 'FACMIC_PUBLIC_URL', read: httpUrl },
  virtualSites: { flag: 'virtual-sites', env: 'FACMIC_VIRTUAL_SITES', read: integer(0, 32) },
  demo: { flag: 'demo', env: 'FACMIC_DEMO', read: yesNo },
  maxMessageMb: {
    flag: 'max-message-mb',
    env: 'FACMIC_MAX_MESSAGE_MB',
    read: text((v) => (v !== '' && Number.isFinite(Number(v)) && Number(v) >= 1 && Number(v) <= 512 ? Number(v) : undefined), (v) => `"${v}" is not a size from 1 to 512 (MB)`),
  },
  keepSubmissionWeights: {
    flag: 'keep-submission-weights',
    env: 'FACMIC_KEEP_SUBMISSION_WEIGHTS',
    read: text((v): number | 'all' | undefined => (v === 'all' ? 'all' : /^\d+$/.test(v) && Number(v) >= 1 ? Number(v) : undefined), (v) => `"${v}" is neither "all" nor a number of rounds (1 or more)`),
  },
  crossOriginIsolation: { flag: 'cross-origin-isolation', env: 'FACMIC_CROSS_ORIGIN_ISOLATION', read: yesNo },
  trustProxy: { flag: 'trust-proxy', env: 'FACMIC_TRUST_PROXY', read: yesNo },
  logLevel: { flag: 'log-level', env: 'FACMIC_LOG_LEVEL', read: text((v) => LOG_LEVELS.find((l) => l === v), (v) => `"${v}" is not one of ${LOG_LEVELS.join(', ')}`) },
  resetAdminToken: { flag: 'reset-admin-token', env: null, read: yesNo },
} as const;

type SettingName = keyof typeof SETTINGS;
type Values = { [K in SettingName]?: z.output<(typeof SETTINGS)[K]['read']> };

function nameOf(name: SettingName): string {
  const setting = SETTINGS[name];
  return [setting.flag === null ? null : `--${setting.flag}`, setting.env].filter((x) => x !== null).join(' / ');
}

function fail(name: SettingName, problem: string): never {
  throw new ConfigError(`${nameOf(name)}: ${problem}`);
}

/** The environment's settings: one optional text per variable (an empty variable counts as unset). */
const environmentSchema = z.object(
  Object.fromEntries(
    (Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][])
      .filter(([, s]) => s.env !== null)
      .map(([, s]) => [s.env, z.preprocess((v) => (v === '' ? undefined : v), s.read.optional())]),
  ),
);

function fromEnvironment(env: Readonly<Record<string, string | undefined>>): Values {
  const parsed = environmentSchema.safeParse(env);
  const byEnv = new Map<string | null, SettingName>((Object.keys(SETTINGS) as SettingName[]).map((name) => [SETTINGS[name].env, name]));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = byEnv.get(String(issue?.path[0])) as SettingName;
    fail(name, issue?.message ?? 'invalid');
  }
  const values: Record<string, unknown> = {};
  for (const [variable, value] of Object.entries(parsed.data)) if (value !== undefined) values[byEnv.get(variable) as SettingName] = value;
  return values;
}

function fromFlags(argv: readonly string[]): Values {
  const byFlag = new Map<string, SettingName>();
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const flag = SETTINGS[name].flag;
    if (flag !== null) byFlag.set(flag, name);
  }
  const options = Object.fromEntries([...byFlag].map(([flag, name]) => [flag, { type: SETTINGS[name].read === yesNo ? ('boolean' as const) : ('string' as const) }]));
  // `--` only separates npm's arguments from the coordinator's: every argument is a setting.
  const { tokens } = parseArgs({ args: argv.filter((a) => a !== '--'), options, strict: false, allowPositionals: true, allowNegative: true, tokens: true });
  const values: Record<string, unknown> = {};
  for (const token of tokens) {
    if (token.kind === 'positional') throw new ConfigError(`unexpected argument ${token.value} (see the README's coordinator section for the options)`);
    if (token.kind !== 'option') continue;
    const name = byFlag.get(token.name);
    if (name === undefined) throw new ConfigError(`unknown option ${token.rawName} (see the README's coordinator section for the options)`);
    const negated = token.rawName.startsWith('--no-');
    if (SETTINGS[name].read === yesNo) {
      values[name] = token.value === undefined ? !negated : readFlag(name, token.value);
      continue;
    }
    if (negated) throw new ConfigError(`${token.rawName}: --${token.name} takes a value`);
    if (token.value === undefined) throw new ConfigError(`--${token.name} needs a value`);
    values[name] = readFlag(name, token.value);
  }
  return values;
}

function readFlag(name: SettingName, raw: string): unknown {
  const parsed = SETTINGS[name].read.safeParse(raw);
  if (!parsed.success) fail(name, parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

/** Reads flags (`--port 3000`, `--port=3000`, `--demo`, `--no-demo`) and environment variables. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): StartupConfig {
  const values: Values = { ...fromEnvironment(env), ...fromFlags(argv) };
  const keep = values.keepSubmissionWeights ?? 'all';
  const path = (value: string | undefined, fallback: string) => resolve(value?.trim() || fallback);
  return {
    port: values.port ?? 3000,
    host: values.host ?? '127.0.0.1',
    dataDir: path(values.dataDir, 'data'),
    adminToken: values.adminToken ?? null,
    modelsDir: path(values.modelsDir, 'models'),
    model: values.model?.trim() || null,
    webDir: path(values.webDir, 'dist/web'),
    publicUrl: values.publicUrl ?? null,
    virtualSites: values.virtualSites ?? 0,
    demo: values.demo ?? true,
    maxMessageBytes: Math.round((values.maxMessageMb ?? 4) * 1024 * 1024),
    keepSubmissionWeightsRounds: keep === 'all' ? null : keep,
    // On by default: a cross-origin isolated page lets ONNX Runtime's wasm use several threads (CLIP ViT-B/16 is
    // compute-bound on a hospital CPU). tfjs stays single-threaded on purpose (see apps/web/src/worker/tfjs-backend.ts).
    crossOriginIsolation: values.crossOriginIsolation ?? true,
    trustProxy: values.trustProxy ?? false,
    logLevel: values.logLevel ?? 'info',
    resetAdminToken: values.resetAdminToken ?? false,
  };
}
