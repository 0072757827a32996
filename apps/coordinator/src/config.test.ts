import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', virtualSites: 0, demo: true, adminToken: null, model: null, maxMessageBytes: 4 * 1024 * 1024, keepSubmissionWeightsRounds: null });
    expect(config.dataDir.endsWith('/data')).toBe(true);
    expect(config.modelsDir.endsWith('/models')).toBe(true);
    expect(config.webDir.endsWith('/dist/web')).toBe(true);
  });

  it('reads the environment, and flags win over it', () => {
    const env = { PORT: '4000', HOST: '0.0.0.0', FACMIC_DATA_DIR: '/tmp/x', FACMIC_ADMIN_TOKEN: 'a-long-enough-admin-token', FACMIC_MODEL: 'Xenova/clip-vit-base-patch16', FACMIC_DEMO: '0' };
    const config = loadConfig(['--port', '5000', '--virtual-sites=3', '--keep-submission-weights', '5'], env);
    expect(config).toMatchObject({ port: 5000, host: '0.0.0.0', dataDir: '/tmp/x', adminToken: 'a-long-enough-admin-token', model: 'Xenova/clip-vit-base-patch16', demo: false, virtualSites: 3, keepSubmissionWeightsRounds: 5 });
    expect(loadConfig(['--no-demo', '--', '--cross-origin-isolation'], {})).toMatchObject({ demo: false, crossOriginIsolation: true });
    // Isolation is on by default (threaded ONNX Runtime wasm); it can be switched off.
    expect(loadConfig([], {})).toMatchObject({ crossOriginIsolation: true });
    expect(loadConfig(['--no-cross-origin-isolation'], {})).toMatchObject({ crossOriginIsolation: false });
    expect(loadConfig([], { FACMIC_CROSS_ORIGIN_ISOLATION: '0' })).toMatchObject({ crossOriginIsolation: false });
  });

  it.each([
    [['--port', 'abc'], {}, '--port / PORT'],
    [[], { PORT: '70000' }, 'PORT'],
    [[], { FACMIC_ADMIN_TOKEN: 'short' }, 'FACMIC_ADMIN_TOKEN'],
    [[], { FACMIC_DEMO: 'maybe' }, 'FACMIC_DEMO'],
    [['--public-url', 'not a url'], {}, '--public-url'],
    [['--virtual-sites', '100'], {}, '--virtual-sites'],
    [['--max-message-mb', '0'], {}, '--max-message-mb'],
    [['--keep-submission-weights', 'some'], {}, '--keep-submission-weights'],
    [['--log-level', 'loud'], {}, '--log-level'],
    [['--frobnicate'], {}, '--frobnicate'],
    [['--port'], {}, '--port needs a value'],
  ])('stops on %j %j with a message naming the setting', (argv, env, named) => {
    expect(() => loadConfig(argv, env)).toThrow(ConfigError);
    expect(() => loadConfig(argv, env)).toThrow(named);
  });

  it('reads yes/no flags as --flag, --no-flag and --flag=0|1, and never echoes an admin token', () => {
    expect(loadConfig(['--demo=0', '--trust-proxy=yes', '--reset-admin-token'], {})).toMatchObject({ demo: false, trustProxy: true, resetAdminToken: true });
    expect(loadConfig(['--demo'], { FACMIC_DEMO: '0' })).toMatchObject({ demo: true });
    expect(() => loadConfig(['--no-port'], {})).toThrow('--port takes a value');
    expect(() => loadConfig(['3000'], {})).toThrow('unexpected argument 3000');
    expect(() => loadConfig([], { FACMIC_ADMIN_TOKEN: 'short secret' })).not.toThrow('short secret');
    expect(loadConfig([], { PORT: '', FACMIC_MAX_MESSAGE_MB: '8' })).toMatchObject({ port: 3000, maxMessageBytes: 8 * 1024 * 1024 });
  });
});
