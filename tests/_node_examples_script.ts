// Run on Node by node_examples_test.ts: calls one of the Node examples the way its platform does
// and prints the response as one JSON line, then returns without closing anything.
//   <lambda|next> <task id> <read|wait> [Lambda's remaining time in ms]
import process from "node:process";

const [example, id, mode, remaining] = process.argv.slice(2);
const query = mode === "wait" ? "&wait=1" : "";
if (example === "lambda") {
  const { handler } = await import("../examples/node_lambda_handler.ts");
  const response = await handler(
    { queryStringParameters: { id: id!, ...(mode === "wait" ? { wait: "1" } : {}) } },
    { getRemainingTimeInMillis: () => Number(remaining ?? 30_000) },
  );
  console.log(JSON.stringify({ status: response.statusCode, body: JSON.parse(response.body) }));
} else if (example === "next") {
  const { GET } = await import("../examples/nextjs_route.ts");
  const request = new Request(`http://localhost/api/tasks/${id}?${query}`);
  const response = await GET(request, { params: Promise.resolve({ id: id! }) });
  console.log(JSON.stringify({ status: response.status, body: await response.json() }));
} else {
  throw new TypeError(`unknown example ${example}`);
}
