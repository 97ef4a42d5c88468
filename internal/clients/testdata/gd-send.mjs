// @great-detail/whatsapp 9.2.0, unmodified, pointed at waba with its public `baseUrl` option:
// send text and template messages, mark an inbound message read, read the number node.
//
// Env: WABA_BASE_URL, WABA_TOKEN, WABA_PHONE_NUMBER_ID, WABA_WABA_ID, WABA_TO (a user inside the
// service window), WABA_INBOUND_ID (the wamid of a message that user sent).
// Prints one JSON line {ok, text, template, read, refused, number}; exits 1 on failure.
import { Client } from "@great-detail/whatsapp";
import { config, env, done, fail, step } from "./common.mjs";

const cfg = config();
const inbound = env("WABA_INBOUND_ID");
// baseUrl + "/" + graphVersion becomes ky's baseUrl; ky 2.x resolves the SDK's relative paths
// ("<id>/messages") against it by standard URL rules, so the version segment is dropped and the
// requests arrive unversioned (cloud-api.md §1). waba accepts both forms.
const sdk = new Client({ baseUrl: cfg.base, request: { headers: { Authorization: `Bearer ${cfg.token}` } } });

const out = {};
out.text = await step("send text", () =>
  sdk.message.createMessage({ phoneNumberID: cfg.phoneID, to: cfg.to, type: "text", text: { body: "Hello from @great-detail/whatsapp" } }).json());
out.template = await step("send template hello_world en_US", () =>
  sdk.message.createMessage({ phoneNumberID: cfg.phoneID, to: cfg.to, type: "template",
    template: { name: "hello_world", language: { code: "en_US", policy: "deterministic" } } }).json());
out.read = await step("mark read", () =>
  sdk.message.createStatus({ phoneNumberID: cfg.phoneID, message_id: inbound, status: "read" }).json());
// A refused call: ky throws an HTTPError whose data is the parsed Graph envelope (only when the
// answer is Content-Type: application/json).
try {
  await sdk.message.createMessage({ phoneNumberID: cfg.phoneID, to: cfg.to, type: "text", text: {} }).json();
  fail("send text without a body: wanted an HTTP error, got success");
} catch (err) {
  if (!err?.response) fail("send text without a body", err);
  out.refused = { status: err.response.status, contentType: err.response.headers.get("content-type"), data: err.data ?? null };
}
out.number = await step("get phone number", () => sdk.phoneNumbers.getPhoneNumber({ phoneNumberID: cfg.phoneID }).json());
done(out);
