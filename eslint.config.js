// The linter's settings (npm run lint): ESLint's and typescript-eslint's recommended rules over
// every source file, without type information (fast enough to run before the tests).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'artifacts/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a value deliberately left unused (a destructured-away field, a callback's first argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      // A `let` that a closure reads before its one assignment (a process wired before its parts exist) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Kysely types code over any schema with `any`: migrations take `Kysely<any>` (frozen, they import
    // nothing of the app's types), as do the migrator and the dialect's generic query helpers.
    files: ['lib/db/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The post, event and delivery paths: a property after an object spread costs about 1.5 µs on
    // Node 20 (lib/objects.ts); copies with added fields go through `withFields` there.
    files: [
      'lib/messages/post-message.ts',
      'lib/db/dialect.ts',
      'lib/db/mysql-post-*.ts',
      'lib/realtime/*.ts',
      'lib/center/client.ts',
      'lib/http/**/*.ts',
      'realtime/**/*.ts',
      'handlers/messages/*.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ObjectExpression > SpreadElement[argument.type!='ConditionalExpression'] ~ Property",
          message: 'a property after a spread is V8 slow path on Node 20 (about 1.5 µs): use withFields (lib/objects.ts) on this hot path',
        },
      ],
    },
  },
  {
    // Tests read response bodies of any shape (`res.body.guild.id`) as the API answers them.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
