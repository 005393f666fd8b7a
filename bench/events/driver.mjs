// Live-event delivery benchmark (bench/events.sh): SUBSCRIBERS graphql-ws clients
// subscribe to leadEvents and ENDPOINTS webhook endpoints (served here, answering 204)
// want `lead.stageChanged`; RATE lead events per second are committed for SECONDS
// through psql (outbox rows of real leads plus the writers' NOTIFY, as a stage move
// commits them); every delivery's delay is its arrival time minus the event's time
// (`occurredAt`, the webhook body's `timestamp`). Prints one BENCH line: events
// committed, then for subscribers and for webhooks deliveries expected and received,
// p50/p99/max delay in ms.
// Usage: node driver.mjs <ws-url> <token> <database-url> <org-id> <subscribers> <rate> <seconds> <endpoints>
import { spawn } from "node:child_process";
import { Worker } from "node:worker_threads";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, database, org, subscribers, rate, seconds, endpoints] = process.argv.slice(2);
const [n, perSecond, duration, hooks] = [Number(subscribers), Number(rate), Number(seconds), Number(endpoints ?? 0)];
const delays = [];
let errors = 0;

// The webhook endpoints: one local server, one path per endpoint, in a worker thread
// of its own so that it does not queue behind the subscribers' messages.
const receiverCode = `
const http = require("node:http");
const { parentPort } = require("node:worker_threads");
const delays = [];
let errors = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const arrived = Date.now();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      if (body.type === "lead.stageChanged") delays.push(arrived - Date.parse(body.timestamp));
    } catch {
      errors++;
    }
    res.writeHead(204).end();
  });
});
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (ask) => {
  if (ask === "count") parentPort.postMessage({ count: delays.length });
  else parentPort.postMessage({ delays, errors });
});
`;
const receiver = new Worker(receiverCode, { eval: true });
const ask = (what) => new Promise((resolve) => { receiver.once("message", resolve); receiver.postMessage(what); });
const { port: receiverPort } = await new Promise((resolve) => receiver.once("message", resolve));
const httpUrl = url.replace(/^ws/, "http");
for (let i = 0; i < hooks; i++) {
  const answer = await fetch(httpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }",
      variables: { input: { url: `http://127.0.0.1:${receiverPort}/hook/${i}`, eventTypes: ["lead.stageChanged"] } },
    }),
  });
  const created = await answer.json();
  if (!created.data) throw new Error(`creating a webhook endpoint failed: ${JSON.stringify(created)}`);
}

const query = "subscription { leadEvents(filter: { kinds: [STAGE_CHANGED] }) { occurredAt lead { id } } }";
const clients = [];
let ready = 0;
await new Promise((resolve) => {
  if (n === 0) resolve();
  for (let i = 0; i < n; i++) {
    let pongs = 0;
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      keepAlive: 200,
      retryAttempts: 0,
      on: {
        // The second pong after subscribing: the server has read the subscription.
        pong: (received) => {
          if (received && ++pongs === 2 && ++ready === n) resolve();
        },
      },
    });
    client.subscribe(
      { query },
      {
        next: ({ data, errors: failed }) => {
          if (failed) errors++;
          else delays.push(Date.now() - Date.parse(data.leadEvents.occurredAt));
        },
        error: () => errors++,
        complete: () => {},
      },
    );
    clients.push(client);
  }
});

// One psql session; every tick commits a batch of events for random leads.
const psql = spawn("psql", [database, "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1"], { stdio: ["pipe", "inherit", "inherit"] });
const ticksPerSecond = 10;
const batch = Math.max(1, Math.round(perSecond / ticksPerSecond));
// A UUIDv7 (time-ordered, as the server writes them) from the clock and random bits.
const v7 =
  "(lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid";
const insert = `BEGIN;
INSERT INTO outbox_events (id, org_id, kind, entity, entity_id, payload, at, relayed_at)
SELECT ${v7}, '${org}', 'lead.stageChanged', 'lead', id, '{"from":"NEW","to":"ENGAGED"}'::json, clock_timestamp(), NULL
FROM (SELECT id FROM leads WHERE org_id = '${org}' ORDER BY random() LIMIT ${batch}) chosen;
SELECT pg_notify('accord_outbox', '${org}/bench');
COMMIT;
`;
let committed = 0;
const started = Date.now();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    if (Date.now() - started >= duration * 1000) {
      clearInterval(timer);
      resolve();
      return;
    }
    psql.stdin.write(insert);
    committed += batch;
  }, 1000 / ticksPerSecond);
});
psql.stdin.end();
// Let the last events arrive (webhooks: until all came, or 15 s).
await new Promise((resolve) => setTimeout(resolve, 3000));
for (let waited = 0; (await ask("count")).count < committed * hooks && waited < 15000; waited += 200) {
  await new Promise((resolve) => setTimeout(resolve, 200));
}
for (const client of clients) await client.dispose();
const { delays: hookDelays, errors: hookErrors } = await ask("results");
errors += hookErrors;
await receiver.terminate();

delays.sort((a, b) => a - b);
hookDelays.sort((a, b) => a - b);
const at = (list, q) => (list.length ? list[Math.min(list.length - 1, Math.floor(q * list.length))] : -1);
console.log(
  `BENCH events=${committed} expected=${committed * n} received=${delays.length} errors=${errors} p50=${at(delays, 0.5)} p99=${at(delays, 0.99)} max=${delays.at(-1) ?? -1}` +
    ` webhooks_expected=${committed * hooks} webhooks_received=${hookDelays.length} webhooks_p50=${at(hookDelays, 0.5)} webhooks_p99=${at(hookDelays, 0.99)} webhooks_max=${hookDelays.at(-1) ?? -1}`,
);
process.exit(0);
