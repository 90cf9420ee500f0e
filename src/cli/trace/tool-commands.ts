// The commands a trace step names for its state: `ip -n NAME ...` for a named namespace,
// `nsenter --net=PATH ip ...` for one given by path.
export function tool(program: "ip" | "bridge" | "nft", netns: string): string {
  return netns.startsWith("/")
    ? `nsenter --net=${netns} ${program}`
    : program === "nft"
      ? `ip netns exec ${netns} nft`
      : `${program} -n ${netns}`;
}
