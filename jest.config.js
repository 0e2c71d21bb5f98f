/**
 * One Jest run covers the library's unit and property specs (next to the code) and the end-to-end specs in
 * test/. The library is imported by its package name everywhere; here the name maps to its sources so the
 * specs exercise the code being changed rather than a stale build.
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  moduleNameMapper: {
    '^nestjs-trusted-header$': '<rootDir>/libs/trusted-header/src/index.ts',
    '^nestjs-trusted-header/admin$': '<rootDir>/libs/trusted-header/src/admin/index.ts',
    '^nestjs-trusted-header/building-blocks$': '<rootDir>/libs/trusted-header/src/building-blocks.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json' }],
  },
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  modulePathIgnorePatterns: ['<rootDir>/dist', '<rootDir>/libs/trusted-header/dist'],
};
