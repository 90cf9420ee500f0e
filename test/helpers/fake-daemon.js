// A stand-in for `cnikit daemon` that speaks the daemon's side of src/daemon/PROTOCOL.md
// with a scripted behaviour, so that the front end (native/cnikit_front.c) can be
// tested against answers, refusals and failures the real daemon only gives by accident.
// Plain JS for node, started inside a test namespace (nsenter --net=...):
//
//   node fake-daemon.js '<behaviour JSON>'
//
// behaviour: { verdict: "Y", limitMs?: number, frames?: Frame[] }
//          | { verdict: "N", reason: "B" | "L" | ..., text?: string }
// Frame: { type: "e" | "o", data: string, truncateTo?: number }  (truncateTo: send the
//        header's full length but only that many payload bytes)
//      | { type: "x", status: number } | { type: "close" } | { type: "hang" }
//
// stdout: {"listening":true} once the socket is bound, then one JSON line per request
// with what the front end sent (hello fields, plugin name, environment, stdin).
"use strict";
const crypto = require("node:crypto");
const net = require("node:net");

const behaviour = JSON.parse(process.argv[2] ?? "{}");

function u32(value) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function frame(type, payload) {
  return Buffer.concat([Buffer.from(type, "latin1"), u32(payload.length), payload]);
}

function report(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function answer(socket) {
  for (const f of behaviour.frames ?? []) {
    if (f.type === "close") return void socket.destroy();
    if (f.type === "hang") return;
    if (f.type === "x") {
      socket.write(frame("x", u32(f.status)));
      return void socket.end();
    }
    const data = Buffer.from(f.data ?? "", "utf8");
    if (f.truncateTo === undefined) socket.write(frame(f.type, data));
    else socket.write(Buffer.concat([Buffer.from(f.type), u32(data.length), data.subarray(0, f.truncateTo)]));
  }
}

function serve(socket) {
  // Chunks kept apart until a whole part is there: a 50 MB stdin must not be re-copied per chunk.
  let chunks = [];
  let have = 0;
  let hello;
  const joined = () => {
    const all = Buffer.concat(chunks);
    chunks = [all];
    return all;
  };
  socket.on("error", () => {});
  socket.on("data", (chunk) => {
    if (hello?.done) return;
    chunks.push(chunk);
    have += chunk.length;
    if (!hello) {
      if (have < 20) return;
      const head = joined();
      const build = head.readUInt32LE(4);
      if (have < 20 + build) return;
      hello = {
        magic: head.subarray(0, 4).toString("latin1"),
        build: head.subarray(20, 20 + build).toString("latin1"),
        P: head.readUInt32LE(8),
        E: head.readUInt32LE(12),
        S: head.readUInt32LE(16),
      };
      chunks = [head.subarray(20 + build)];
      have -= 20 + build;
      if (behaviour.verdict === "N") {
        const text = Buffer.from(behaviour.text ?? "", "utf8");
        socket.end(Buffer.concat([Buffer.from(`N${behaviour.reason ?? "B"}`, "latin1"), u32(text.length), text]));
        hello.done = true;
        report({ hello });
        return;
      }
      socket.write(Buffer.concat([Buffer.from("Y"), u32(behaviour.limitMs ?? 30_000)]));
    }
    if (have < hello.P + hello.E + hello.S) return;
    const body = joined();
    const plugin = body.subarray(0, hello.P).toString("utf8");
    const envBlock = body.subarray(hello.P, hello.P + hello.E).toString("utf8");
    const stdin = body.subarray(hello.P + hello.E, hello.P + hello.E + hello.S);
    hello.done = true;
    report({
      hello,
      plugin,
      env: envBlock.split("\0").slice(0, -1),
      envEndsWithNul: envBlock.endsWith("\0"),
      stdinLength: stdin.length,
      stdin: stdin.length <= 65536 ? stdin.toString("utf8") : undefined,
      stdinSha256: crypto.createHash("sha256").update(stdin).digest("hex"),
      extraBytes: body.length - (hello.P + hello.E + hello.S),
    });
    answer(socket);
  });
}

net
  .createServer(serve)
  .on("error", (err) => {
    process.stderr.write(`fake daemon: ${err.message}\n`);
    process.exit(1);
  })
  .listen("\0cnikit-daemon/1", () => report({ listening: true }));
