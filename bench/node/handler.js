// The seed's Node.js Lambda handler: AWS SDK v3 document client, GetCommand on table Users, the client
// built once at module load (init phase). Measured by `cargo xtask bench` through bootstrap.js.
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, GetCommand } = require("@aws-sdk/lib-dynamodb");

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const headers = { "Content-Type": "application/json" };

exports.handler = async (event) => {
  const id = event.pathParameters && event.pathParameters.id;
  try {
    const { Item } = await client.send(new GetCommand({ TableName: "Users", Key: { id } }));
    if (!Item) {
      return {
        statusCode: 404,
        headers,
        body: JSON.stringify({ success: false, error: { code: "USER_NOT_FOUND", message: "no user has this id" } }),
      };
    }
    return { statusCode: 200, headers, body: JSON.stringify({ success: true, data: Item }) };
  } catch (err) {
    console.error(err);
    return {
      statusCode: 500,
      headers,
      body: JSON.stringify({ success: false, error: { code: "INTERNAL", message: "internal error" } }),
    };
  }
};
