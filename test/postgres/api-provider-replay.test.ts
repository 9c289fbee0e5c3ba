// The same tests as ../api/provider-replay.test.ts, on the PostgreSQL store (DCS_TEST_DATABASE_URL).
process.env.DCS_TEST_STORE = 'postgres';
await import('../api/provider-replay.test.js');
