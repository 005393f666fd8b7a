// The GraphQL-over-HTTP audit of the graphql-http package against a running server.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Exits 1 on any MUST failure ("error") or SHOULD warning ("warn"); MAY notices are printed.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
let failed = 0;
for (const result of results) {
  if (result.status === 'ok') continue;
  const reason = result.reason ?? '';
  console.log(`${result.status} ${result.id} ${result.name}: ${reason}`);
  if (result.status === 'error' || result.status === 'warn') failed += 1;
}
console.log(`${results.length} audits, ${results.filter((r) => r.status === 'ok').length} ok, ${failed} failing`);
process.exit(failed === 0 ? 0 : 1);
