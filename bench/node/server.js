// A plain Node.js `http` server doing the service's lookup, for `cargo xtask bench`:
// GET /users/{id} -> id rule, lookup, JSON envelope. Usage: node server.js PORT
//   USERS_FILE=path.json       the users in an in-memory Map (the embedded-store comparison)
//   USER_STORE=dynamodb        GetCommand on table Users through AWS SDK v3 (endpoint, region and
//                              credentials from the SDK's standard environment variables)
const http = require("http");
const fs = require("fs");

const port = Number(process.argv[2]);
const ID_RULE = /^[A-Za-z0-9_-]{1,64}$/;
const json = { "content-type": "application/json" };

let lookup;
if (process.env.USER_STORE === "dynamodb") {
  const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
  const { DynamoDBDocumentClient, GetCommand } = require("@aws-sdk/lib-dynamodb");
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  lookup = async (id) => (await client.send(new GetCommand({ TableName: "Users", Key: { id } }))).Item;
} else {
  const users = new Map(JSON.parse(fs.readFileSync(process.env.USERS_FILE, "utf8")).map((u) => [u.id, u]));
  lookup = async (id) => users.get(id);
}

function fail(res, status, code, message) {
  res.writeHead(status, json);
  res.end(JSON.stringify({ success: false, error: { code, message } }));
}

http
  .createServer(async (req, res) => {
    const match = /^\/users\/([^/?]*)/.exec(req.url);
    if (req.method !== "GET" || !match) return fail(res, 404, "NOT_FOUND", "no such resource");
    let id;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      id = "";
    }
    if (!ID_RULE.test(id)) return fail(res, 400, "INVALID_USER_ID", "invalid user id");
    try {
      const user = await lookup(id);
      if (!user) return fail(res, 404, "USER_NOT_FOUND", "no user has this id");
      res.writeHead(200, json);
      res.end(JSON.stringify({ success: true, data: user }));
    } catch (err) {
      console.error(err);
      fail(res, 503, "STORE_UNAVAILABLE", "the user store is unavailable; retry later");
    }
  })
  .listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
