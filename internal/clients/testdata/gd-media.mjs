// @great-detail/whatsapp 9.2.0, unmodified: upload a PNG, get its URL, download it, delete it.
//
// Env: WABA_BASE_URL, WABA_TOKEN, WABA_PHONE_NUMBER_ID, WABA_WABA_ID.
// Prints one JSON line {ok, upload, url, download, delete}; exits 1 on failure.
import { Client } from "@great-detail/whatsapp";
import { config, done, fail, step } from "./common.mjs";

const cfg = config();
const auth = { headers: { Authorization: `Bearer ${cfg.token}` } };
const sdk = new Client({ baseUrl: cfg.base, request: auth });
const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=", "base64");

const out = {};
out.upload = await step("upload media", () =>
  sdk.media.upload({ phoneNumberID: cfg.phoneID, file: new Blob([png], { type: "image/png" }), filename: "pixel.png", mimeType: "image/png" }).json());
if (typeof out.upload?.id !== "string") fail("upload media: no id in " + JSON.stringify(out.upload));
out.url = await step("get media URL", () => sdk.media.getURL({ mediaID: out.upload.id, phoneNumberID: cfg.phoneID }).json());
if (typeof out.url?.url !== "string") fail("get media URL: no url in " + JSON.stringify(out.url));
// download() uses a fresh ky instance: the token must be passed in its request options.
const resp = await step("download media", () => sdk.media.download({ mediaURL: out.url.url, request: auth }));
const bytes = Buffer.from(await resp.arrayBuffer());
out.download = { status: resp.status, contentType: resp.headers.get("content-type"), same: bytes.equals(png) };
out.delete = await step("delete media", () => sdk.media.delete({ mediaID: out.upload.id, phoneNumberID: cfg.phoneID }).json());
done(out);
