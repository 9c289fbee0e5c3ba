// The same tests as ../engine/failures.test.ts, on the PostgreSQL store (DCS_TEST_DATABASE_URL).
process.env.DCS_TEST_STORE = 'postgres';
await import('../engine/failures.test.js');
