// The same tests as ../records/scans.test.ts, on the PostgreSQL store (DCS_TEST_DATABASE_URL).
process.env.DCS_TEST_STORE = 'postgres';
await import('../records/scans.test.js');
