// A webhook receiver for the end-to-end tests. Every POST to /hook/<name> is kept
// (headers and raw body) and answered as the test scripted it. The test reads what
// arrived with GET /received/<name>?secret=whsec_…; each delivery's signature is then
// checked by the `standardwebhooks` library (the specification's reference code).
//
//   POST /script/<name>  {"statuses": [500, 500], "hang": 1}  answer the next
//        requests with these statuses (then 200); hold the next `hang` requests open
//        without ever answering.
//   GET  /received/<name>?secret=…  [{id, timestamp, signature, body, verified, error}]
import http from "node:http";
import { Webhook } from "standardwebhooks";

const hooks = new Map();
const hook = (name) => {
  if (!hooks.has(name)) hooks.set(name, { received: [], statuses: [], hang: 0 });
  return hooks.get(name);
};

const read = (req) =>
  new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://receiver");
  const [, kind, name] = url.pathname.split("/");
  const body = await read(req);
  if (req.method === "POST" && kind === "hook") {
    const h = hook(name);
    h.received.push({
      id: req.headers["webhook-id"],
      timestamp: req.headers["webhook-timestamp"],
      signature: req.headers["webhook-signature"],
      contentType: req.headers["content-type"],
      body,
    });
    if (h.hang > 0) {
      h.hang -= 1;
      return; // never answered: the sender times out or dies waiting
    }
    const status = h.statuses.length ? h.statuses.shift() : 200;
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status >= 300 ? `failing on purpose: ${"x".repeat(2000)}` : "ok");
    return;
  }
  if (req.method === "POST" && kind === "script") {
    const script = JSON.parse(body || "{}");
    const h = hook(name);
    h.statuses = script.statuses ?? [];
    h.hang = script.hang ?? 0;
    res.writeHead(204).end();
    return;
  }
  if (req.method === "GET" && kind === "received") {
    const secret = url.searchParams.get("secret");
    const out = hook(name).received.map((r) => {
      let verified = false;
      let error = null;
      try {
        const headers = { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature };
        new Webhook(secret).verify(r.body, headers);
        verified = true;
      } catch (e) {
        error = String(e && e.message ? e.message : e);
      }
      let parsed = null;
      try {
        parsed = JSON.parse(r.body);
      } catch {}
      return { ...r, body: parsed, verified, error };
    });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    return;
  }
  res.writeHead(404).end();
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
