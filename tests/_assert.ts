// Assertion helpers shared by the tests.
import assert from "node:assert/strict";

/** Resolves with the error a promise rejects with; fails if it resolves or rejects a non-Error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `rejected with a non-Error: ${String(error)}`);
    return error;
  }
  assert.fail("expected a rejection");
}
