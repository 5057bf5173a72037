// Kept in step with package.json's "version" (checked by src/version.test.ts).
export const VERSION = '0.1.0';
