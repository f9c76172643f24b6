import { memoryDriver } from "../mod.ts";
import { defineBackendConformance } from "./_backend_conformance.ts";

defineBackendConformance("memory", () => Promise.resolve(memoryDriver()));
import { defineConsumerConformance, definePollingRegressions } from "./_consumer_conformance.ts";

defineConsumerConformance("memory", () => Promise.resolve(memoryDriver()));
definePollingRegressions("memory", () => Promise.resolve(memoryDriver()));
