// whatsapp-api-js 6.3.0, unmodified: upload a PNG, retrieve its URL, download it through the
// library's fetchMedia, delete it, and check that retrieving it afterwards fails.
//
// Env: WABA_BASE_URL, WABA_TOKEN, WABA_PHONE_NUMBER_ID, WABA_WABA_ID.
// Prints one JSON line {ok, calls, upload, retrieve, download, delete, afterDelete}; exits 1 on failure.
import { WhatsAppAPI } from "whatsapp-api-js";
import { config, done, fail, graphError, step, redirectFetch } from "./common.mjs";

const cfg = config();
const calls = [];
const api = new WhatsAppAPI({ token: cfg.token, v: "v24.0", secure: false, ponyfill: { fetch: redirectFetch(cfg.base, calls) } });

// A 1×1 transparent PNG.
const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64");
const form = new FormData();
form.append("file", new Blob([png], { type: "image/png" }), "pixel.png");

const out = { calls };
out.upload = await step("upload media", () => api.uploadMedia(cfg.phoneID, form));
if (!out.upload || typeof out.upload.id !== "string") fail("upload media: no id in " + JSON.stringify(out.upload));
out.retrieve = await step("retrieve media", () => api.retrieveMedia(out.upload.id, cfg.phoneID));
if (!out.retrieve || typeof out.retrieve.url !== "string") fail("retrieve media: no url in " + JSON.stringify(out.retrieve));
const resp = await step("download media (fetchMedia)", () => api.fetchMedia(out.retrieve.url));
if (!resp.ok) fail(`download media (fetchMedia): HTTP ${resp.status} ${await resp.text()}`);
const bytes = Buffer.from(await resp.arrayBuffer());
out.download = { status: resp.status, contentType: resp.headers.get("content-type"), same: bytes.equals(png) };
out.delete = await step("delete media", () => api.deleteMedia(out.upload.id, cfg.phoneID));
out.afterDelete = await graphError("retrieve deleted media", () => api.retrieveMedia(out.upload.id));
done(out);
