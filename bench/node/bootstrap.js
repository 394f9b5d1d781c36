// A minimal Lambda runtime for handler.js (or the file HANDLER_FILE names, e.g. ./hello.js): the Runtime API loop (next invocation, call the handler,
// post its result), as a custom runtime's bootstrap does it. AWS_LAMBDA_RUNTIME_API names the API.
const http = require("http");

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime/invocation";

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent, headers: body === undefined ? {} : {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    } }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function main() {
  const { handler } = require(process.env.HANDLER_FILE || "./handler.js");
  for (;;) {
    const next = await request("GET", `${base}/next`);
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
    const context = {
      awsRequestId: requestId,
      invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    const result = await handler(JSON.parse(next.body), context);
    await request("POST", `${base}/${requestId}/response`, JSON.stringify(result));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
