import { MemoryStore } from "../../src/store/memory.js";
import { describeStoreContract } from "./contract.js";

describeStoreContract("memory", async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});
