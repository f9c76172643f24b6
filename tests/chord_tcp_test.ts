import { defineChordConformance } from "./_chord_conformance.ts";
import { flushedTcpDriver } from "./_drivers.ts";
import { redisServerForFile } from "./_redis_for_file.ts";

const server = redisServerForFile();

defineChordConformance("tcp", flushedTcpDriver(() => ({ port: server.port, db: 2 })));
