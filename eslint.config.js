import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.factum/', 'bench/results/', '.cli-build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Driver subsets are typed loosely on purpose (see postgres-client.ts).
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The SQL store's internals stay inside src/store: the layers above reach them through
    // src/store/sql-access.ts (sqlAccess, its types), and decide by storeCapabilities, never by class.
    files: ['src/**/*.ts'],
    ignores: [
      'src/store/**',
      // The public surface names the SQL store's class and its options.
      'src/index.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)store/sql/',
              message: 'Outside src/store, use src/store/sql-access.ts (sqlAccess and its types) and storeCapabilities instead of the SQL store\'s files.',
            },
          ],
        },
      ],
    },
  },
);
