// The socket contract every adapter passes, run against the memory network
// (on the real clock, since the contract waits for datagrams in real time;
// strict about the MTU, as a real socket refuses an oversized datagram).
import { systemClock } from "../src/runtime/clock.ts";
import { MemoryNetwork } from "../src/testing/memory_network.ts";
import { socketContract } from "./socket_contract.ts";

const network = new MemoryNetwork({ clock: systemClock, seed: 1, latencyMs: 0, strictMtu: true });
socketContract("MemoryNetwork.open", (addr) => network.open(addr));
