// Subscribes to leadEvents with the graphql-ws client, the graphql-transport-ws
// reference, and prints to stdout: "subscribed" once the server has read the
// subscription, then the first event as one JSON line; exits 0 after completing it.
// Usage: node client.mjs <ws-url> <token>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token] = process.argv.slice(2);
const fail = (why) => {
  console.error(why);
  process.exit(1);
};
setTimeout(() => fail("timed out"), 15000).unref();

let pongs = 0;
let subscribed = false;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  keepAlive: 50,
  retryAttempts: 0,
  lazy: true,
  on: {
    closed: (event) => {
      if (!subscribed) fail(`closed before subscribing: ${event?.code} ${event?.reason}`);
    },
    pong: (received) => {
      // Two pongs after subscribing: the second ping left after the subscribe message,
      // and the server answers in order, so the subscription is running.
      if (received && subscribed && ++pongs === 2) console.log("subscribed");
    },
  },
});

const query = "subscription { leadEvents { id kind toStage lead { id } } }";
const unsubscribe = client.subscribe(
  { query },
  {
    next: (result) => {
      console.log(JSON.stringify(result));
      unsubscribe();
      client.dispose().then(() => process.exit(result.errors ? 1 : 0));
    },
    error: (error) => fail(`error: ${JSON.stringify(error?.message ?? error?.code ?? error)}`),
    complete: () => {},
  },
);
subscribed = true;
