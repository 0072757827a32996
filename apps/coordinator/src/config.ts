/**
 * Start-up settings from command-line flags and the environment (flags win). A bad value stops start-up with a
 * message naming the setting.
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
 * | `--cross-origin-isolation` | `FACMIC_CROSS_ORIGIN_ISOLATION=1` | off |
 * | `--trust-proxy` | `FACMIC_TRUST_PROXY=1` | off |
 * | `--log-level` | `FACMIC_LOG_LEVEL` | info |
 * | `--reset-admin-token` | (none) | off: prints a new admin token, the old one stops working |
 */
import { resolve } from 'node:path';
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

interface Setting {
  flag: string;
  env: string | null;
  kind: 'string' | 'int' | 'bool' | 'number';
}

const SETTINGS = {
  port: { flag: '--port', env: 'PORT', kind: 'int' },
  host: { flag: '--host', env: 'HOST', kind: 'string' },
  dataDir: { flag: '--data-dir', env: 'FACMIC_DATA_DIR', kind: 'string' },
  adminToken: { flag: '', env: 'FACMIC_ADMIN_TOKEN', kind: 'string' },
  modelsDir: { flag: '--models-dir', env: 'FACMIC_MODELS_DIR', kind: 'string' },
  model: { flag: '--model', env: 'FACMIC_MODEL', kind: 'string' },
  webDir: { flag: '--web-dir', env: 'FACMIC_WEB_DIR', kind: 'string' },
  publicUrl: { flag: '--public-url', env: 'FACMIC_PUBLIC_URL', kind: 'string' },
  virtualSites: { flag: '--virtual-sites', env: 'FACMIC_VIRTUAL_SITES', kind: 'int' },
  demo: { flag: '--demo', env: 'FACMIC_DEMO', kind: 'bool' },
  maxMessageMb: { flag: '--max-message-mb', env: 'FACMIC_MAX_MESSAGE_MB', kind: 'number' },
  keepSubmissionWeights: { flag: '--keep-submission-weights', env: 'FACMIC_KEEP_SUBMISSION_WEIGHTS', kind: 'string' },
  crossOriginIsolation: { flag: '--cross-origin-isolation', env: 'FACMIC_CROSS_ORIGIN_ISOLATION', kind: 'bool' },
  trustProxy: { flag: '--trust-proxy', env: 'FACMIC_TRUST_PROXY', kind: 'bool' },
  logLevel: { flag: '--log-level', env: 'FACMIC_LOG_LEVEL', kind: 'string' },
  resetAdminToken: { flag: '--reset-admin-token', env: null, kind: 'bool' },
} as const satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

function nameOf(setting: Setting): string {
  return [setting.flag, setting.env].filter((x) => x !== null && x !== '').join(' / ');
}

/** Reads flags (`--port 3000`, `--port=3000`, `--demo`, `--no-demo`) and environment variables. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): StartupConfig {
  const flags = new Map<SettingName, string>();
  const byFlag = new Map<string, SettingName>(Object.entries(SETTINGS).filter(([, s]) => s.flag !== '').map(([name, s]) => [s.flag, name as SettingName]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    const [rawFlag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const negated = rawFlag.startsWith('--no-') ? `--${rawFlag.slice(5)}` : null;
    const name = byFlag.get(negated ?? rawFlag);
    if (name === undefined) throw new ConfigError(`unknown option ${rawFlag} (see the README's coordinator section for the options)`);
    const setting: Setting = SETTINGS[name];
    if (setting.kind === 'bool') {
      if (inline !== undefined) flags.set(name, inline);
      else flags.set(name, negated === null ? 'true' : 'false');
      continue;
    }
    if (negated !== null) throw new ConfigError(`${rawFlag}: ${setting.flag} takes a value`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${setting.flag} needs a value`);
    flags.set(name, value);
  }

  const raw = (name: SettingName): string | undefined => {
    const setting: Setting = SETTINGS[name];
    const fromFlag = flags.get(name);
    if (fromFlag !== undefined) return fromFlag;
    if (setting.env === null) return undefined;
    const fromEnv = env[setting.env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const int = (name: SettingName, fallback: number, min: number, max: number): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new ConfigError(`${nameOf(SETTINGS[name])}: "${value}" is not an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
  const bool = (name: SettingName, fallback: boolean): boolean => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(`${nameOf(SETTINGS[name])}: "${value}" is not a yes/no value (1/0, true/false)`);
  };
  const str = (name: SettingName): string | null => raw(name)?.trim() ?? null;

  const host = str('host') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new ConfigError(`${nameOf(SETTINGS.host)}: "${host}" is not a host name or address`);
  const publicUrl = str('publicUrl');
  if (publicUrl !== null) {
    let url: URL;
    try {
      url = new URL(publicUrl);
    } catch {
      throw new ConfigError(`${nameOf(SETTINGS.publicUrl)}: "${publicUrl}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${nameOf(SETTINGS.publicUrl)}: use an http(s) URL`);
  }
  const adminToken = raw('adminToken') ?? null;
  if (adminToken !== null && !/^[\x21-\x7e]{16,512}$/.test(adminToken)) {
    throw new ConfigError(`${nameOf(SETTINGS.adminToken)}: the admin token must be 16 to 512 printable characters without spaces`);
  }
  const maxMessageMbText = raw('maxMessageMb');
  let maxMessageBytes = 4 * 1024 * 1024;
  if (maxMessageMbText !== undefined) {
    const mb = Number(maxMessageMbText);
    if (!Number.isFinite(mb) || mb < 1 || mb > 512) throw new ConfigError(`${nameOf(SETTINGS.maxMessageMb)}: "${maxMessageMbText}" is not a size from 1 to 512 (MB)`);
    maxMessageBytes = Math.round(mb * 1024 * 1024);
  }
  const keepText = str('keepSubmissionWeights');
  let keepSubmissionWeightsRounds: number | null = null;
  if (keepText !== null && keepText !== 'all') {
    if (!/^\d+$/.test(keepText) || Number(keepText) < 1) {
      throw new ConfigError(`${nameOf(SETTINGS.keepSubmissionWeights)}: "${keepText}" is neither "all" nor a number of rounds (1 or more)`);
    }
    keepSubmissionWeightsRounds = Number(keepText);
  }
  const logLevel = (str('logLevel') ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new ConfigError(`${nameOf(SETTINGS.logLevel)}: "${logLevel}" is not one of debug, info, warn, error, silent`);
  }

  return {
    port: int('port', 3000, 0, 65535),
    host,
    dataDir: resolve(str('dataDir') ?? 'data'),
    adminToken,
    modelsDir: resolve(str('modelsDir') ?? 'models'),
    model: str('model'),
    webDir: resolve(str('webDir') ?? 'dist/web'),
    publicUrl,
    virtualSites: int('virtualSites', 0, 0, 32),
    demo: bool('demo', true),
    maxMessageBytes,
    keepSubmissionWeightsRounds,
    crossOriginIsolation: bool('crossOriginIsolation', false),
    trustProxy: bool('trustProxy', false),
    logLevel,
    resetAdminToken: bool('resetAdminToken', false),
  };
}
