// A webhook receiver built on whatsapp-api-js 6.3.0's own node:http middleware, unmodified:
// handle_get answers the hub.challenge verification handshake (checking hub.verify_token) and
// handle_post verifies X-Hub-Signature-256 with the app secret (the library re-escapes the body
// to ASCII \uXXXX before hashing) and parses the Cloud payload into on.message / on.status.
//
// Env: WABA_APP_SECRET, WABA_VERIFY_TOKEN; WABA_TOKEN (optional, unused for receiving).
// Prints {"url":"http://127.0.0.1:<port>/webhook"} once listening. GET /_results answers the
// records so far. When stdin closes it prints one JSON line {ok, verifications, posts, messages,
// statuses} and exits 0; it exits 1 if it cannot listen.
//   verifications: [{status, challenge, answer}]   every GET handshake and what it answered
//   posts:         [{status, greatDetailValid, signature, body}]  every POST: status is what
//                  whatsapp-api-js answered (200 accepted, 401 bad signature…), greatDetailValid
//                  whether @great-detail/whatsapp's webhook.eventNotification checkSignature agrees
//   messages:      [{id, from, name, type, text}]  what on.message received
//   statuses:      [{id, status, phone}]           what on.status received
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { WhatsAppAPI } from "whatsapp-api-js/middleware/node-http";
import { Client } from "@great-detail/whatsapp";
import { env, fail } from "./common.mjs";

const api = new WhatsAppAPI({
  token: process.env.WABA_TOKEN || "unused",
  appSecret: env("WABA_APP_SECRET"),
  webhookVerifyToken: env("WABA_VERIFY_TOKEN"),
  v: "v24.0",
});
// @great-detail/whatsapp's webhook helper checks the same signature over the raw bytes; its
// verdict is recorded next to whatsapp-api-js's for every POST (cloud-api.md §12 #1: with
// ASCII-only bodies the two agree).
const gd = new Client();
const secret = env("WABA_APP_SECRET");
const rec = { verifications: [], posts: [], messages: [], statuses: [] };
api.on.message = ({ message, from, name }) => {
  rec.messages.push({ id: message.id, from, name, type: message.type, text: message.text?.body });
};
api.on.status = ({ id, status, phone }) => {
  rec.statuses.push({ id, status, phone });
};

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (req.method === "GET" && path === "/_results") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(rec));
    return;
  }
  if (req.method === "GET") {
    const challenge = new URL(req.url, "http://x").searchParams.get("hub.challenge");
    try {
      const answer = api.handle_get(req);
      rec.verifications.push({ status: 200, challenge, answer });
      res.statusCode = 200;
      res.end(answer);
    } catch (code) {
      rec.verifications.push({ status: code, challenge });
      res.statusCode = typeof code === "number" ? code : 500;
      res.end();
    }
    return;
  }
  if (req.method === "POST") {
    // Keep a copy of the raw body for the record; handle_post reads the stream itself.
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const replay = Readable.from([raw]);
    replay.headers = req.headers;
    const status = await api.handle_post(replay);
    let gdValid = false;
    try {
      const n = await gd.webhook.eventNotification({ method: "POST", headers: req.headers, body: raw.toString("utf-8") });
      gdValid = await n.checkSignature(secret);
    } catch {}
    rec.posts.push({ status, greatDetailValid: gdValid, signature: req.headers["x-hub-signature-256"] ?? null, body: raw.toString("utf-8") });
    res.statusCode = status;
    res.end();
    return;
  }
  res.statusCode = 405;
  res.end();
});
server.on("error", (err) => fail("listen", err));
server.listen(Number(process.env.WABA_RECEIVER_PORT || 0), "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/webhook` }) + "\n");
});
process.stdin.resume();
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify({ ok: true, ...rec }) + "\n");
  server.close();
  process.exit(0);
});
