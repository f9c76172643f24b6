import { memoryDriver } from "../mod.ts";
import { defineChordConformance } from "./_chord_conformance.ts";

defineChordConformance("memory", () => Promise.resolve(memoryDriver()));
