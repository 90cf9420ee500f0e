// Hands out one address per range set for an attachment. Round-robin: the search
// starts after the address last reserved from the set, so an address just freed is
// not handed out again until the whole set has been gone through (a crash-looping
// container does not get its old address back at once, as with the reference).
import { CniError, ErrorCode } from "../../src/cni/errors";
import { type IpAddress, formatIp, parseIp } from "../../src/ip/address";
import { type Range, type RangeSet, rangeFor, rangeSetLabel } from "./range";
import type { Attachment, LeaseStore } from "./store";

export interface Allocation {
  address: IpAddress;
  /** The prefix length of the range's subnet (the result's CIDR). */
  prefix: number;
  gateway?: IpAddress;
  rangeSetIndex: number;
}

export interface RangeSetAllocation {
  store: LeaseStore;
  rangeSet: RangeSet;
  rangeSetIndex: number;
  attachment: Attachment;
  requested?: IpAddress;
}

function allocationIn(range: Range, address: IpAddress, rangeSetIndex: number): Allocation {
  const allocation: Allocation = { address, prefix: range.subnet.prefix, rangeSetIndex };
  if (range.gateway) allocation.gateway = range.gateway;
  return allocation;
}

/** Every address of the set once, starting after `after` (or at the very start), wrapping around. */
function* candidates(set: RangeSet, after: IpAddress | undefined): Generator<{ range: Range; value: bigint }> {
  let rangeIndex = 0;
  let value = set[0]?.start ?? 0n;
  const afterRange = after ? rangeFor(set, after) : undefined;
  if (after && afterRange) {
    rangeIndex = set.indexOf(afterRange);
    value = after.value + 1n;
  }
  let remaining = set.reduce((sum, range) => sum + (range.end - range.start + 1n), 0n);
  while (remaining > 0n) {
    let range = set[rangeIndex] as Range;
    if (value > range.end) {
      rangeIndex = (rangeIndex + 1) % set.length;
      range = set[rangeIndex] as Range;
      value = range.start;
    }
    yield { range, value };
    value++;
    remaining--;
  }
}

function allocateRequested(request: RangeSetAllocation, requested: IpAddress): Allocation {
  const text = formatIp(requested);
  const range = rangeFor(request.rangeSet, requested);
  if (!range)
    throw new CniError(
      ErrorCode.AddressUnavailable,
      `requested address ${text} is not in range set ${request.rangeSetIndex}: ${rangeSetLabel(request.rangeSet)}`,
    );
  if (range.reserved.has(requested.value)) {
    const what = range.gateway?.value === requested.value ? "the gateway" : "the network or broadcast address";
    throw new CniError(ErrorCode.AddressUnavailable, `requested address ${text} is ${what} of ${range.where}`);
  }
  if (!request.store.reserve({ address: text, attachment: request.attachment }, request.rangeSetIndex)) {
    throw new CniError(
      ErrorCode.AddressUnavailable,
      `requested address ${text} is already allocated in range set ${request.rangeSetIndex}: ${rangeSetLabel(request.rangeSet)}`,
    );
  }
  return allocationIn(range, requested, request.rangeSetIndex);
}

export function allocateFromRangeSet(request: RangeSetAllocation): Allocation {
  if (request.requested) return allocateRequested(request, request.requested);
  const { store, rangeSet, attachment } = request;
  for (const held of store.addressesOf(attachment)) {
    const address = parseIp(held);
    if (address && rangeFor(rangeSet, address)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `${held} is already allocated to container ${attachment.containerId} interface ${attachment.ifName}; duplicate allocation is not allowed (DEL first)`,
      );
    }
  }
  const lastText = store.lastReserved(request.rangeSetIndex);
  for (const { range, value } of candidates(rangeSet, lastText === undefined ? undefined : parseIp(lastText))) {
    if (range.reserved.has(value)) continue;
    const address: IpAddress = { family: range.subnet.network.family, value };
    if (store.reserve({ address: formatIp(address), attachment }, request.rangeSetIndex))
      return allocationIn(range, address, request.rangeSetIndex);
  }
  throw new CniError(
    ErrorCode.AddressExhausted,
    `no addresses available in range set ${request.rangeSetIndex}: ${rangeSetLabel(rangeSet)}`,
  );
}

export interface AttachmentAllocation {
  store: LeaseStore;
  rangeSets: RangeSet[];
  attachment: Attachment;
  /** Addresses asked for (CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips): each must be met. */
  requested: IpAddress[];
}

/** One address from every range set; on any failure, releases what this call reserved. */
export function allocateForAttachment(request: AttachmentAllocation): Allocation[] {
  const pending = [...request.requested];
  const allocations: Allocation[] = [];
  try {
    request.rangeSets.forEach((rangeSet, rangeSetIndex) => {
      const match = pending.findIndex((address) => rangeFor(rangeSet, address));
      const requested = match >= 0 ? pending.splice(match, 1)[0] : undefined;
      const one: RangeSetAllocation = { store: request.store, rangeSet, rangeSetIndex, attachment: request.attachment };
      if (requested) one.requested = requested;
      allocations.push(allocateFromRangeSet(one));
    });
    if (pending.length > 0) {
      const addresses = pending.map(formatIp).join(", ");
      throw new CniError(
        ErrorCode.AddressUnavailable,
        `requested address ${addresses} is not in any range set (or two requested addresses fall in the same range set)`,
      );
    }
  } catch (err) {
    request.store.release(
      request.attachment,
      allocations.map((allocation) => formatIp(allocation.address)),
    );
    throw err;
  }
  return allocations;
}
