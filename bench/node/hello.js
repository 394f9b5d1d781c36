// A hello-world Node.js handler (no SDK): the Node.js peer of the bare `lambda_runtime` floor, and
// what lambda-perf deploys. It answers lambda-fn's answer to GET /users/u-1 as a constant.
const body = JSON.stringify({
  success: true,
  data: { id: "u-1", name: "Ada Lovelace", email: "ada@example.com", createdAt: "2024-01-15T09:30:00Z" },
});

exports.handler = async () => ({ statusCode: 200, headers: { "content-type": "application/json" }, body });
