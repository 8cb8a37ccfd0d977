// Calls AsillaService/getInfor from a browser two ways, with hand-written JavaScript: no
// generated code, no build step, no dependencies.
//
//   ?server=http://127.0.0.1:50051   where person-server listens (started with --cors-origin
//                                    naming this page's origin)
//   ?auto=NAME                       call both ways on load, then set document.title to "done"
//   ?method=NAME                     call another method (a test uses an unknown one)
"use strict";

const params = new URLSearchParams(location.search);
const server = params.get("server") || "http://127.0.0.1:50051";
const method = params.get("method") || "getInfor";
const path = `${server}/AsillaService/${method}`;
document.getElementById("server").textContent = server;

function describe(person) {
  return `name=${person.name ?? ""} id=${person.id ?? 0} married=${person.married ?? false}`;
}

// --- Connect: a unary call is a plain POST; the body is the message in JSON --------------

async function callConnect(name) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-protocol-version": "1" },
    body: JSON.stringify({ name }),
  });
  const body = await response.json();
  if (!response.ok) {
    // Errors are JSON too: {"code": "not_found", "message": "..."}, with an HTTP status.
    return `error: ${body.code}: ${body.message ?? ""}`;
  }
  return describe(body);
}

// --- gRPC-Web text: gRPC's envelopes, base64-encoded, the status in the body --------------

// RequestInforPerson { string name = 1; } in protobuf: tag 0x0A, length, UTF-8 bytes.
function encodeRequest(name) {
  const text = new TextEncoder().encode(name);
  const bytes = [0x0a, ...varint(text.length), ...text];
  // The envelope: a flags byte (0: not compressed), the length in 4 bytes, big-endian.
  const n = bytes.length;
  return new Uint8Array([0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...bytes]);
}

function varint(value) {
  const out = [];
  while (value > 0x7f) { out.push((value & 0x7f) | 0x80); value >>>= 7; }
  out.push(value);
  return out;
}

// Person { string name = 1; int32 id = 2; bool married = 3; }, read field by field.
function decodePerson(bytes) {
  const person = {};
  let at = 0;
  const readVarint = () => {
    let value = 0, shift = 0, byte;
    do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return value;
  };
  while (at < bytes.length) {
    const key = readVarint();
    const field = key >>> 3, wireType = key & 7;
    if (wireType === 2) {
      const length = readVarint();
      const value = bytes.subarray(at, at + length);
      at += length;
      if (field === 1) person.name = new TextDecoder().decode(value);
    } else if (wireType === 0) {
      const value = readVarint();
      if (field === 2) person.id = value;
      if (field === 3) person.married = value !== 0;
    } else {
      throw new Error(`unexpected wire type ${wireType}`);
    }
  }
  return person;
}

const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
// The body may hold several padded base64 chunks one after the other: decode each 4 characters.
function fromBase64(text) {
  const out = [];
  const clean = text.replace(/\s/g, "");
  for (let i = 0; i < clean.length; i += 4) {
    for (const c of atob(clean.slice(i, i + 4))) out.push(c.charCodeAt(0));
  }
  return new Uint8Array(out);
}

async function callGrpcWeb(name) {
  const response = await fetch(path, {
    method: "POST",
    headers: {
      "content-type": "application/grpc-web-text",
      "accept": "application/grpc-web-text",
      "x-grpc-web": "1",
    },
    body: toBase64(encodeRequest(name)),
  });
  const body = fromBase64(await response.text());
  // Walk the envelopes: flag 0x00 is a message, flag 0x80 the trailers as header lines.
  let person = null, status = null, message = "";
  for (let at = 0; at + 5 <= body.length;) {
    const flags = body[at];
    const length = ((body[at + 1] << 24) | (body[at + 2] << 16) | (body[at + 3] << 8) | body[at + 4]) >>> 0;
    const payload = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if (flags & 0x80) {
      for (const line of new TextDecoder().decode(payload).split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon < 0) continue;
        const key = line.slice(0, colon).trim().toLowerCase(), value = line.slice(colon + 1).trim();
        if (key === "grpc-status") status = Number(value);
        if (key === "grpc-message") message = decodeURIComponent(value);
      }
    } else {
      person = decodePerson(payload);
    }
  }
  if (status === null) {
    // A trailers-only response puts the status in the HTTP headers instead of the body.
    if (!response.headers.has("grpc-status")) return `error: HTTP ${response.status}, no grpc-status`;
    status = Number(response.headers.get("grpc-status"));
    message = decodeURIComponent(response.headers.get("grpc-message") ?? "");
  }
  if (status !== 0) return `error: grpc-status ${status}: ${message}`;
  return describe(person);
}

// --- The page ------------------------------------------------------------------------------

async function show(id, call) {
  const element = document.getElementById(id);
  element.textContent = "…";
  try {
    element.textContent = await call(document.getElementById("name").value);
  } catch (error) {
    // A network error, or a response the browser would not let the page read (CORS).
    element.textContent = `error: ${error.message}`;
  }
}

document.getElementById("connect").onclick = () => show("connect-result", callConnect);
document.getElementById("grpcweb").onclick = () => show("grpcweb-result", callGrpcWeb);

if (params.has("auto")) {
  document.getElementById("name").value = params.get("auto");
  Promise.all([show("connect-result", callConnect), show("grpcweb-result", callGrpcWeb)])
    .then(() => { document.title = "done"; });
}
