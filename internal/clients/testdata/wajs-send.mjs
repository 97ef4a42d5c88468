// whatsapp-api-js 6.3.0, unmodified, sending through waba: text, template, interactive reply
// buttons, location, and mark read (with a typing indicator) of an inbound message.
//
// Env: WABA_BASE_URL, WABA_TOKEN, WABA_PHONE_NUMBER_ID, WABA_WABA_ID, WABA_TO (a user inside the
// service window), WABA_INBOUND_ID (the wamid of a message that user sent).
// Prints one JSON line {ok, calls, text, template, interactive, location, read, readOutbound};
// exits 1 on failure.
import { WhatsAppAPI } from "whatsapp-api-js";
import { Text, Template, Language, Interactive, ActionButtons, Button, Body, Location } from "whatsapp-api-js/messages";
import { config, env, done, graphError, step, redirectFetch } from "./common.mjs";

const cfg = config();
const inbound = env("WABA_INBOUND_ID");
const calls = [];
const api = new WhatsAppAPI({
  token: cfg.token,
  v: "v24.0",
  secure: false, // no app secret needed for sending; the webhook script verifies signatures
  ponyfill: { fetch: redirectFetch(cfg.base, calls) },
});
const to = { phone: cfg.to };

const out = { calls };
out.text = await step("send text", () => api.sendMessage(cfg.phoneID, to, new Text("Hello from whatsapp-api-js")));
out.template = await step("send template hello_world en_US", () =>
  api.sendMessage(cfg.phoneID, to, new Template("hello_world", new Language("en_US"))));
out.interactive = await step("send interactive reply buttons", () =>
  api.sendMessage(cfg.phoneID, to, new Interactive(
    new ActionButtons(new Button("yes-id", "Yes"), new Button("no-id", "No")),
    new Body("Do you like waba?"))));
out.location = await step("send location", () =>
  api.sendMessage(cfg.phoneID, to, new Location(-122.16153582049394, 37.44216251868683, "Philz Coffee", "101 Forest Ave, Palo Alto")));
out.read = await step("mark read with typing indicator", () => api.markAsRead(cfg.phoneID, inbound, "text"));
// A refused call: the library hands back waba's Graph error envelope as the parsed body.
out.readOutbound = await graphError("mark read of one of our own outbound messages", () =>
  api.markAsRead(cfg.phoneID, out.text.messages[0].id));
done(out);
