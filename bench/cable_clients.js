// The load of bench/cable.sh: N ActionCable clients (raw ws, speaking actioncable-v1-json as the
// @rails/actioncable client does) subscribe to EchoChannel of spec/fixtures/cable_app, then one
// of them performs "speak" and every client times the broadcast from that moment to its receipt.
// Reads the server's /proc entries for CPU, RSS, threads and fds. Prints one JSON line.
//
//   node bench/cable_clients.js URL N SERVER_PID COOKIE ORIGIN
const WebSocket = require("ws");
const fs = require("fs");

const [url, n, pid, cookie, origin] = [process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5], process.argv[6]];
const SINGLES = 5;      // broadcasts one at a time, a second apart
const BURST = 20;       // broadcasts back to back
const IDLE_SECONDS = 10;
const IN_FLIGHT = 100;  // connections opening at once
const DEADLINE_MS = 120000; // for one client to subscribe, and for a round of broadcasts
const identifier = JSON.stringify({ channel: "EchoChannel" });
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function proc() {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return {
    cpu: (Number(stat[11]) + Number(stat[12])) / 100, // utime + stime, seconds
    rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024,
    threads: Number(/Threads:\s+(\d+)/.exec(status)[1]),
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
  };
}

async function idleCpu(seconds) {
  const before = proc().cpu;
  await sleep(seconds * 1000);
  return Math.round(((proc().cpu - before) / seconds) * 1000) / 10; // % of one core
}

let expecting = null; // the broadcasts being timed: { latencies, left, done }
// A subscribed client, or null when it is not subscribed within DEADLINE_MS.
function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["actioncable-v1-json"], { headers: { Cookie: cookie, Origin: origin } });
    const timer = setTimeout(() => resolve(null), DEADLINE_MS);
    ws.on("error", reject);
    ws.on("message", (data) => {
      const m = JSON.parse(data);
      if (m.type === "welcome") ws.send(JSON.stringify({ command: "subscribe", identifier }));
      else if (m.type === "confirm_subscription") {
        clearTimeout(timer);
        resolve(ws);
      }
      else if (m.identifier && m.message && expecting) {
        const e = expecting;
        e.latencies.push(now() - Number(m.message.text));
        if (--e.left === 0) e.done();
      }
    });
  });
}

// `count` broadcasts, `gapMs` apart (0: back to back); resolves when every client has them all,
// or after DEADLINE_MS with what arrived.
async function broadcast(speaker, count, gapMs) {
  const latencies = [];
  const start = now();
  const all = new Promise((resolve) => {
    expecting = { latencies, left: n * count, done: resolve };
    setTimeout(resolve, DEADLINE_MS);
  });
  for (let i = 0; i < count; i++) {
    speaker.send(JSON.stringify({ command: "message", identifier, data: JSON.stringify({ action: "speak", text: String(now()) }) }));
    if (gapMs) await sleep(gapMs);
  }
  await all;
  const seconds = (now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]);
  return { deliveries: latencies.length, seconds, p50: pct(0.5), p99: pct(0.99) };
}

(async () => {
  const started = now();
  const clients = [];
  for (let i = 0; i < n; i += IN_FLIGHT) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + IN_FLIGHT); j++) batch.push(connect());
    clients.push(...(await Promise.all(batch)));
  }
  const connectSeconds = (now() - started) / 1000;
  const subscribed = clients.filter((ws) => ws).length;
  const connected = proc();
  const idleConnected = await idleCpu(IDLE_SECONDS);
  // Broadcasts are timed only when every client got subscribed.
  const none = { deliveries: 0, seconds: 1, p50: null, p99: null };
  const single = subscribed === n ? await broadcast(clients[0], SINGLES, 1000) : none;
  const burst = subscribed === n ? await broadcast(clients[0], BURST, 0) : none;
  clients.forEach((ws) => ws && ws.terminate());
  await sleep(5000);
  const idleAfter = await idleCpu(IDLE_SECONDS);
  console.log(JSON.stringify({
    n, subscribed, connectSeconds: Math.round(connectSeconds * 10) / 10, ...connected, idleConnected, idleAfter,
    singleP50: single.p50, singleP99: single.p99,
    singleDelivered: single.deliveries / (n * SINGLES), burstDelivered: burst.deliveries / (n * BURST),
    burstPerSecond: Math.round(burst.deliveries / burst.seconds), burstP50: burst.p50, burstP99: burst.p99,
    fdsAfter: proc().fds,
  }));
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
