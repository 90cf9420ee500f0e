// Writes etcd3's gRPC definitions (the .proto files it loads at run time) as one JSON
// descriptor, so the compiled executable can embed them (see overlay/membership/etcd-protos.ts).
const fs = require("node:fs");
const path = require("node:path");
const protobuf = require("protobufjs");

const root = new protobuf.Root();
// keepCase as etcd3 loads them: field names stay snake_case on the wire objects.
root.loadSync(require.resolve("etcd3/proto/rpc.proto"), { keepCase: true });
// Beside its one reader (overlay/membership/etcd-protos.ts), which the compiler embeds it into.
const out = path.join(__dirname, "..", "overlay", "membership", "etcd-rpc.generated.json");
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(root.toJSON()));
