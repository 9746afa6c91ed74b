import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', '.cluster/**', '.tap/**', 'coverage/**']
  }),
  {
    rules: {
      '@stylistic/max-len': ['error', { code: 100, ignoreUrls: true }]
    }
  }
]
