// Node SigV4 signers for tests/integration/test_signers.py: npm aws4 and @smithy/signature-v4.
//
// stdin:  one JSON job a line {signer: "aws4" | "smithy", presign, method, host, target,
//         headers, body (base64), accessKeyId, secretAccessKey, sessionToken, region,
//         service}, where `target` is the path and query as a user writes them in a URL;
//         `presign` asks for query-string authentication instead of an Authorization header.
// stdout: one JSON line per job {target, headers: [[name, value], ...]}: what to send, byte
//         for byte. The process stays up for the next job, so Node starts once per test module.
// Exit 3 with a message on stdout when a package is missing (`npm install --prefix tests/node`).
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);

function load(name) {
  try {
    return require(name);
  } catch {
    console.log(`${name} is not installed: run npm install --prefix tests/node`);
    process.exit(3);
  }
}

// RFC 3986 unreserved characters stay; everything else is %XX, as SigV4 encodes the query.
function encode(text) {
  const hex = (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
  return encodeURIComponent(text).replace(/[!'()*]/g, hex);
}

function splitTarget(target) {
  const at = target.indexOf("?");
  return at < 0 ? [target, ""] : [target.slice(0, at), target.slice(at + 1)];
}

function pairsOf(headers) {
  return Object.entries(headers).map(([name, value]) => [name, String(value)]);
}

function credentials(job) {
  const found = { accessKeyId: job.accessKeyId, secretAccessKey: job.secretAccessKey };
  return job.sessionToken ? { ...found, sessionToken: job.sessionToken } : found;
}

function withAws4(job, body) {
  const aws4 = load("aws4");
  const request = {
    host: job.host, path: job.target, method: job.method, service: job.service,
    region: job.region, headers: { ...job.headers }, body: body.length ? body : undefined,
    signQuery: job.presign || undefined,
  };
  // aws4 rewrites request.path with the query it signed, and adds its headers in place.
  aws4.sign(request, credentials(job));
  return { target: request.path, headers: pairsOf(request.headers) };
}

async function withSmithy(job, body) {
  const { SignatureV4 } = load("@smithy/signature-v4");
  const { Hash } = load("@smithy/hash-node");
  const [path, rawQuery] = splitTarget(job.target);

  // smithy takes the query decoded (a repeated name as an array) and encodes it itself, so
  // the request must go out with the same encoding.
  const query = {};
  const pairs = [];
  for (const piece of rawQuery ? rawQuery.split("&") : []) {
    const eq = piece.indexOf("=");
    const name = decodeURIComponent(eq < 0 ? piece : piece.slice(0, eq));
    const value = decodeURIComponent(eq < 0 ? "" : piece.slice(eq + 1));
    query[name] = name in query ? [].concat(query[name], value) : value;
    pairs.push(`${encode(name)}=${encode(value)}`);
  }

  const signer = new SignatureV4({
    credentials: credentials(job), region: job.region, service: job.service,
    sha256: Hash.bind(null, "sha256"),
  });
  const headers = { host: job.host, ...job.headers };
  if (body.length) headers["content-length"] = String(body.length);
  const request = {
    method: job.method, protocol: "http:", hostname: job.host.split(":")[0], path, query,
    headers, body: body.length ? body : undefined,
  };
  const signed = job.presign
    ? await signer.presign(request, { expiresIn: 300 })
    : await signer.sign(request);
  if (job.presign) {
    // presign adds its X-Amz-* parameters to the query object; send them all, encoded.
    pairs.length = 0;
    for (const [name, value] of Object.entries(signed.query)) {
      for (const item of [].concat(value)) pairs.push(`${encode(name)}=${encode(item)}`);
    }
  }
  const target = pairs.length ? `${path}?${pairs.join("&")}` : path;
  return { target, headers: pairsOf(signed.headers) };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const job = JSON.parse(line);
  const body = Buffer.from(job.body, "base64");
  const signed = job.signer === "aws4" ? withAws4(job, body) : await withSmithy(job, body);
  process.stdout.write(`${JSON.stringify(signed)}\n`);
}
