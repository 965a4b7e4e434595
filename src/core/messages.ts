/**
 * The protocol's message types: digests, deltas and the four datagrams of the
 * handshake (`Syn`, `SynAck`, `Ack`, `BadCluster`). Plain data; the codec
 * turns them into bytes. They are defined in `types.ts` (the core's leaf of
 * shared types) and re-exported here, where they have always been imported
 * from.
 * @module
 */

export type {
  AckMessage,
  BadClusterMessage,
  CompactDigestEntry,
  Delta,
  Digest,
  DigestEntry,
  DigestRange,
  KeyValueMutation,
  Message,
  NodeDelta,
  NodeDigest,
  SynAckMessage,
  SynMessage,
} from "./types.ts";
