// An ActionCable consumer, as a page uses it (the @rails/actioncable package), driven by a spec:
// one JSON command per line on stdin, one JSON event per line on stdout.
//
//   node cable_client.js ws://127.0.0.1:PORT/cable '{"Origin":"http://...","Cookie":"..."}'
//   {"op":"subscribe","key":"echo","params":{"channel":"EchoChannel"}}   -> {"event":"connected","key":"echo"}
//   {"op":"perform","key":"echo","action":"speak","data":{"text":"hi"}}  -> {"event":"received","key":"echo","data":{...}}
//   {"op":"unsubscribe","key":"echo"}, {"op":"disconnect"}
// Also reported: the handshake's sub-protocol (upgrade), welcome, ping, the server's disconnect
// message, rejected and disconnected subscriptions, and socket errors.
// What the browser build expects of a page: self (its WebSocket and console), a visible document
// and window-level visibilitychange listeners.
globalThis.self = globalThis;
globalThis.document = { visibilityState: "visible" };
globalThis.addEventListener = globalThis.removeEventListener = () => {};
const WebSocket = require("ws");
const ActionCable = require("@rails/actioncable");
const readline = require("readline");

const [url, headers] = [process.argv[2], JSON.parse(process.argv[3] || "{}")];
const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");

// The consumer's socket, with the headers a browser would send (Origin, Cookie).
class BrowserLikeWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers });
    this.on("upgrade", (res) => emit({ event: "upgrade", protocol: res.headers["sec-websocket-protocol"] || null }));
    this.on("error", (e) => emit({ event: "error", message: e.message }));
    this.on("message", (data) => {
      const message = JSON.parse(data);
      if (message.type === "ping" || message.type === "welcome") emit({ event: message.type });
      if (message.type === "disconnect") emit({ event: "disconnect", reason: message.reason, reconnect: message.reconnect });
    });
  }
}
ActionCable.adapters.WebSocket = BrowserLikeWebSocket;

const consumer = ActionCable.createConsumer(url);
const subscriptions = {};
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  const key = command.key;
  switch (command.op) {
    case "subscribe":
      subscriptions[key] = consumer.subscriptions.create(command.params, {
        connected: () => emit({ event: "connected", key }),
        disconnected: (info) => emit({ event: "disconnected", key, willAttemptReconnect: info && info.willAttemptReconnect }),
        rejected: () => emit({ event: "rejected", key }),
        received: (data) => emit({ event: "received", key, data }),
      });
      break;
    case "perform":
      subscriptions[key].perform(command.action, command.data || {});
      break;
    case "unsubscribe":
      subscriptions[key].unsubscribe();
      break;
    case "connect":
      consumer.connect();
      break;
    case "disconnect":
      consumer.disconnect();
      break;
  }
});
process.stdin.on("end", () => process.exit(0));
