// The same tests as ../api/automation.test.ts, on the PostgreSQL store (DCS_TEST_DATABASE_URL).
process.env.DCS_TEST_STORE = 'postgres';
await import('../api/automation.test.js');
