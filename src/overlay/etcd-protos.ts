// etcd3 reads its .proto files from `${__dirname}/../proto` when it is first loaded. In
// the compiled executable that path is the build machine's node_modules, which an
// installed binary does not have. The build therefore writes the same definitions as a
// protobufjs JSON descriptor (scripts/etcd-descriptor.js), which the compiler embeds,
// and etcd3's loader is pointed at it whenever the .proto file is not on disk.
import * as fs from "node:fs";

interface ProtoLoader {
  loadSync(filename: string | string[], options?: object): unknown;
  fromJSON(json: object, options?: object): unknown;
}

let installed = false;

export function ensureEtcdProtos(): void {
  if (installed) return;
  installed = true;
  const loader = require("@grpc/proto-loader") as ProtoLoader;
  const loadFromDisk = loader.loadSync.bind(loader);
  loader.loadSync = (filename, options) => {
    if (typeof filename === "string" && filename.endsWith("/rpc.proto") && !fs.existsSync(filename)) {
      return loader.fromJSON(embeddedDescriptor(), options);
    }
    return loadFromDisk(filename, options);
  };
}

function embeddedDescriptor(): object {
  try {
    // Static path so that `bun build --compile` embeds it; written by scripts/build.sh.
    return require("../../dist/etcd/rpc.json") as object;
  } catch (err) {
    throw new Error("etcd3's protocol definitions are neither on disk nor embedded (run scripts/build.sh)", {
      cause: err,
    });
  }
}
