// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'models/**', 'test-results/**', 'playwright-report/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Layers: only apps choose a tfjs backend; the protocol knows nothing of ML or runtimes.
    files: ['packages/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@tensorflow/tfjs-backend-*', '@tensorflow/tfjs'], message: 'Only apps choose a tfjs backend.' },
          { group: ['express', 'socket.io', 'better-sqlite3', 'react', 'react-dom'], message: 'Packages hold no server, storage or UI code.' },
        ],
      }],
    },
  },
  {
    files: ['packages/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@tensorflow/*', '@huggingface/*', '@facmic/learning', '@facmic/encoder'], message: 'The protocol is plain data: no ML imports.' },
          { group: ['express', 'socket.io', 'better-sqlite3', 'react', 'react-dom'], message: 'The protocol holds no server, storage or UI code.' },
        ],
      }],
    },
  },
  {
    // The encoder shares the one seeded generator of @facmic/learning/plain, and nothing of its tfjs half.
    files: ['packages/encoder/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '@facmic/learning', message: 'The encoder imports no tfjs: use @facmic/learning/plain.' }],
        patterns: [
          { group: ['@tensorflow/*'], message: 'The encoder imports no tfjs.' },
          { group: ['express', 'socket.io', 'better-sqlite3', 'react', 'react-dom'], message: 'Packages hold no server, storage or UI code.' },
        ],
      }],
    },
  },
  {
    // The privacy core runs unchanged in the browser (web worker) and Node: WebCrypto only, no ML, no platform APIs.
    files: ['packages/privacy/src/**/*.ts'],
    ignores: ['packages/privacy/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          { name: '@facmic/learning', message: 'The privacy core imports no ML: use @facmic/learning/plain for module layouts.' },
          ...['@facmic/encoder', '@facmic/site'].map((name) => ({ name, message: 'The privacy core imports no ML or site code.' })),
          ...['crypto', 'buffer', 'fs', 'path', 'socket.io', 'socket.io-client', 'express', 'better-sqlite3', 'react', 'react-dom'].map((name) => ({ name, message: 'The privacy core is platform-free: WebCrypto (globalThis.crypto) only, no sockets, storage or UI.' })),
        ],
        patterns: [
          { group: ['@tensorflow/*', '@huggingface/*'], message: 'The privacy core imports no ML.' },
          { group: ['node:*'], message: 'The privacy core is platform-free: WebCrypto (globalThis.crypto) only.' },
        ],
      }],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'Node-only: use Uint8Array.' }, { name: 'process', message: 'Node-only.' }, { name: 'require', message: 'Node-only.' }],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
