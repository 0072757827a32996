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
    files: ['**/*.test.ts', 'e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
