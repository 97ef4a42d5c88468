// Shared helpers for the client scripts: configuration from the environment, the one-line JSON
// result, and the fetch that points whatsapp-api-js at waba instead of graph.facebook.com.

// env returns a required environment variable or fails the script saying which is missing.
export function env(name) {
  const v = process.env[name];
  if (!v) fail(`environment variable ${name} is not set`);
  return v;
}

// config is what every script needs to reach waba.
export function config() {
  return {
    base: env("WABA_BASE_URL").replace(/\/$/, ""),
    token: env("WABA_TOKEN"),
    phoneID: env("WABA_PHONE_NUMBER_ID"),
    wabaID: env("WABA_WABA_ID"),
    to: process.env.WABA_TO || "15551230050",
  };
}

// fail prints what failed on stderr and one JSON line on stdout, then exits 1.
export function fail(what, err) {
  const detail = err === undefined ? "" : `: ${err && err.stack ? err.stack : String(err)}`;
  process.stderr.write(`FAIL ${what}${detail}\n`);
  process.stdout.write(JSON.stringify({ ok: false, failed: what, error: err === undefined ? undefined : String(err) }) + "\n");
  process.exit(1);
}

// done prints the results as one JSON line and exits 0.
export function done(results) {
  process.stdout.write(JSON.stringify({ ok: true, ...results }) + "\n");
  process.exit(0);
}

// step runs one named client call; a thrown error or a rejected promise fails the script with
// the step's name. For ky (great-detail) HTTP errors the response body is included.
//
// A Graph error envelope ({"error":{…}}) as the result is a failure too (whatsapp-api-js hands
// back the parsed body whatever the HTTP status).
export async function step(name, fn) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    fail(name, describe(err));
  }
  if (res && typeof res === "object" && "error" in res) fail(name, `Graph error ${JSON.stringify(res.error)}`);
  return res;
}

// describe is an error's message plus, for a ky HTTPError, the response body ky pre-parsed
// into err.data (ky 2.x consumes the body itself).
export function describe(err) {
  let msg = String(err);
  if (err && err.data !== undefined) msg += ` body=${typeof err.data === "string" ? err.data : JSON.stringify(err.data)}`;
  return msg;
}

// graphError runs a call that must answer a Graph error envelope and returns it.
export async function graphError(name, fn) {
  let res;
  try {
    res = await fn();
  } catch (err) {
    fail(name, String(err));
  }
  if (!res || typeof res !== "object" || !("error" in res)) fail(name, `wanted a Graph error, got ${JSON.stringify(res)}`);
  return res;
}

// redirectFetch returns a fetch that sends https://graph.facebook.com/... to base/... and every
// other URL (waba's own media URLs) unchanged. It is handed to whatsapp-api-js through its
// public `ponyfill.fetch` option; the library itself is not modified. Every request is logged
// to calls (method and rewritten URL) for the result line.
export function redirectFetch(base, calls) {
  const graph = "https://graph.facebook.com";
  return (input, init = {}) => {
    let url = input instanceof Request ? input.url : String(input);
    if (url.startsWith(graph + "/")) url = base + url.slice(graph.length);
    calls.push(`${(init.method || "GET").toUpperCase()} ${new URL(url).pathname}`);
    return fetch(input instanceof Request ? new Request(url, input) : url, init);
  };
}
