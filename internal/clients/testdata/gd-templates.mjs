// @great-detail/whatsapp 9.2.0, unmodified: list the WABA's message templates (hello_world must
// be there, approved).
//
// Env: WABA_BASE_URL, WABA_TOKEN, WABA_PHONE_NUMBER_ID, WABA_WABA_ID, WABA_TO.
// Prints one JSON line {ok, list}; exits 1 on failure.
import { Client } from "@great-detail/whatsapp";
import { config, done, fail, step } from "./common.mjs";

const cfg = config();
const sdk = new Client({ baseUrl: cfg.base, request: { headers: { Authorization: `Bearer ${cfg.token}` } } });

const out = {};
out.list = await step("list templates", () =>
  sdk.template.list(cfg.wabaID, { name_or_content: "hello_world", status: "APPROVED", fields: ["name", "language", "status", "category"] }).json());
if (!Array.isArray(out.list?.data) || !out.list.data.some((t) => t.name === "hello_world" && t.language === "en_US" && t.status === "APPROVED"))
  fail("list templates: no approved hello_world en_US in " + JSON.stringify(out.list));
done(out);
