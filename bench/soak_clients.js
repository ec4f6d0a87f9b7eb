// The WebSocket, pub/sub, SSE, churn and never-reading clients of bench/soak.sh, in one Node
// process against bench/soak.ru on 127.0.0.1. Every client works at a fixed, modest rate, so
// the server has CPU left for the others; the process stops by itself after --seconds.
//
//   node bench/soak_clients.js --port 9394 --seconds 600
//
// Environment (defaults in brackets):
//   SOAK_ECHO         WebSocket echo clients, one 64-byte message each every 100 ms [20]
//   SOAK_SUBSCRIBERS  WebSocket subscribers of :soak [200]
//   SOAK_PUBLISH      messages published per second, each to every subscriber and SSE client [20]
//   SOAK_SSE          SSE clients (subscribed to :soak too) [20]
//   SOAK_CHURN        new connections per second: half WebSocket connect-echo-close, half one
//                     HTTP request each [20]
//   SOAK_SLOW         clients that send and never read (up to 8 MB each, then again 5 s later) [3]
// Prints a status line every 30 s and a RESULT line at the end; exits 1 when a client saw a
// wrong echo or an unexpected close.
'use strict';
const http = require('http');
const WebSocket = require('ws');

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean)
  .map((a) => a.trim().split(/\s+/)));
const PORT = Number(args.port || 9394);
const SECONDS = Number(args.seconds || 600);
const env = (name, dflt) => Number(process.env[name] || dflt);
const ECHO = env('SOAK_ECHO', 20);
const SUBSCRIBERS = env('SOAK_SUBSCRIBERS', 200);
const PUBLISH = env('SOAK_PUBLISH', 20);
const SSE = env('SOAK_SSE', 20);
const CHURN = env('SOAK_CHURN', 20);
const SLOW = env('SOAK_SLOW', 3);
const SLOW_LIMIT = 8 * 1024 * 1024;
const HOST = '127.0.0.1';
const WS_URL = (path) => `ws://${HOST}:${PORT}${path}`;

const n = { echoes: 0, deliveries: 0, sse_events: 0, churned: 0, published: 0, slow_closed: 0, slow_mb: 0, errors: 0 };
const problems = [];
let stopping = false;
const timers = [];
const sockets = new Set();

function problem(what) {
  n.errors++;
  if (problems.length < 20) problems.push(what);
}

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

// A long-lived connection that comes back (and counts an error) when it closes unexpectedly.
function lasting(name, open) {
  const start = () => {
    const c = open();
    sockets.add(c);
    c.once('close', () => {
      sockets.delete(c);
      if (stopping) return;
      problem(`${name} closed`);
      setTimeout(start, 1000);
    });
    c.on('error', (e) => problem(`${name}: ${e.message}`));
  };
  start();
}

function echoClient() {
  lasting('echo', () => {
    const ws = new WebSocket(WS_URL('/ws'), { perMessageDeflate: false });
    let expected = null;
    ws.on('open', () => {
      const t = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN || expected) return;
        expected = `echo ${Date.now()} ${'x'.repeat(40)}`;
        ws.send(expected);
      }, 100);
      ws.once('close', () => clearInterval(t));
    });
    ws.on('message', (data) => {
      if (data.toString() !== expected) problem('wrong echo');
      else n.echoes++;
      expected = null;
    });
    return ws;
  });
}

function subscriber() {
  lasting('subscriber', () => {
    const ws = new WebSocket(WS_URL('/sub'), { perMessageDeflate: false });
    ws.on('message', (data) => { if (data.toString() !== 'ready') n.deliveries++; });
    return ws;
  });
}

function sseClient() {
  lasting('sse', () => {
    const req = http.get({ host: HOST, port: PORT, path: '/sse', headers: { Accept: 'text/event-stream' }, agent: false });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (s) => { n.sse_events += (s.match(/^data:/gm) || []).length; });
      res.on('close', () => req.destroy());
    });
    return req;
  });
}

function publish() {
  const req = http.get({ host: HOST, port: PORT, path: `/publish?count=${PUBLISH}&size=64`, agent: false }, (res) => {
    res.resume();
    if (res.statusCode === 200) n.published += PUBLISH;
    else problem(`publish: ${res.statusCode}`);
  });
  req.setTimeout(5000, () => req.destroy(new Error('publish timed out')));
  req.on('error', (e) => problem(`publish: ${e.message}`));
}

// One short-lived connection: a WebSocket that echoes once and closes, or one HTTP request.
function churn(i) {
  if (i % 2 === 0) {
    const ws = new WebSocket(WS_URL('/ws'), { perMessageDeflate: false, handshakeTimeout: 5000 });
    ws.on('open', () => ws.send('churn'));
    ws.on('message', () => { n.churned++; ws.close(); });
    ws.on('error', (e) => problem(`churn ws: ${e.message}`));
    setTimeout(() => ws.terminate(), 5000);
  } else {
    const req = http.get({ host: HOST, port: PORT, path: '/', agent: false }, (res) => { res.resume(); n.churned++; });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', (e) => problem(`churn http: ${e.message}`));
  }
}

// Sends 16 KB messages to the echo route and never reads the echoes: the server must close it
// as slow (its outbound limit), which the next send finds out. Bounded: SLOW_LIMIT bytes or
// 20 s, then anew. slow_closed counts the closes that came before the 20 s were up.
function slowClient() {
  if (stopping) return;
  const ws = new WebSocket(WS_URL('/ws'), { perMessageDeflate: false });
  const chunk = 'y'.repeat(16 * 1024);
  let sent = 0;
  let pump = null;
  let held = false;
  ws.on('open', () => {
    ws.pause(); // never read again
    pump = setInterval(() => {
      while (ws.readyState === WebSocket.OPEN && sent < SLOW_LIMIT && ws.bufferedAmount < 256 * 1024) {
        ws.send(chunk);
        sent += chunk.length;
      }
    }, 50);
  });
  const hold = setTimeout(() => { held = true; ws.terminate(); }, 20000);
  ws.on('error', () => {}); // the server closing it is the expected end
  ws.on('close', () => {
    clearInterval(pump);
    clearTimeout(hold);
    if (!held && !stopping) n.slow_closed++;
    n.slow_mb += sent / (1024 * 1024);
    if (!stopping) setTimeout(slowClient, 5000);
  });
}

function status(label) {
  const f = Object.entries(n).map(([k, v]) => `${k}=${Math.round(v)}`).join(' ');
  console.log(`${label} t=${Math.round(process.uptime())}s ${f}`);
}

for (let i = 0; i < ECHO; i++) echoClient();
for (let i = 0; i < SUBSCRIBERS; i++) subscriber();
for (let i = 0; i < SSE; i++) sseClient();
for (let i = 0; i < SLOW; i++) slowClient();
every(1000, publish);
let churnSeq = 0;
if (CHURN > 0) every(1000 / CHURN, () => churn(churnSeq++));
every(30000, () => status('STATUS'));

setTimeout(() => {
  stopping = true;
  timers.forEach(clearInterval);
  for (const c of sockets) (c.terminate || c.destroy).call(c);
  status('RESULT');
  if (problems.length) console.log(`problems: ${problems.join('; ')}`);
  setTimeout(() => process.exit(n.errors > 0 ? 1 : 0), 1000);
}, SECONDS * 1000);
