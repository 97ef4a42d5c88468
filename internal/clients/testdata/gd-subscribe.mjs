// @great-detail/whatsapp 9.2.0, unmodified: subscribe the app to the WABA with an override
// callback URL and verify token (waba then plays Meta's hub.challenge handshake against that
// URL before answering), and list the subscriptions.
//
// Env: WABA_BASE_URL, WABA_TOKEN, WABA_PHONE_NUMBER_ID, WABA_WABA_ID, WABA_CALLBACK_URL,
// WABA_VERIFY_TOKEN; WABA_EXPECT_FAILURE=1 when the handshake must fail (then the Graph error
// body is the result and listing is skipped).
// Prints one JSON line {ok, subscribe, list}; exits 1 on failure.
import { Client } from "@great-detail/whatsapp";
import { config, describe, env, done, fail, step } from "./common.mjs";

const cfg = config();
const sdk = new Client({ baseUrl: cfg.base, request: { headers: { Authorization: `Bearer ${cfg.token}` } } });
const args = { businessAccountID: cfg.wabaID, override_callback_uri: env("WABA_CALLBACK_URL"), verify_token: env("WABA_VERIFY_TOKEN") };

if (process.env.WABA_EXPECT_FAILURE === "1") {
  let res;
  try {
    res = await sdk.subscribedApps.createSubscription(args).json();
  } catch (err) {
    if (err?.response) done({ subscribe: err.data ?? null, status: err.response.status });
    fail("subscribe (expected a Graph error)", describe(err));
  }
  fail("subscribe: wanted a Graph error, got " + JSON.stringify(res));
}
const out = {};
out.subscribe = await step("subscribe with override_callback_uri", () => sdk.subscribedApps.createSubscription(args).json());
out.list = await step("list subscriptions", () => sdk.subscribedApps.listSubscriptions({ businessAccountID: cfg.wabaID }).json());
done(out);
