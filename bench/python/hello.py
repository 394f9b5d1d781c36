# A hello-world Python handler: lambda-perf's kind, the calibration's third runtime (see
# xtask/src/bench/aws_lambda.rs). It answers lambda-fn's answer to GET /users/u-1 as a constant.
import json

BODY = json.dumps(
    {
        "success": True,
        "data": {
            "id": "u-1",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "createdAt": "2024-01-15T09:30:00Z",
        },
    },
    separators=(",", ":"),
)


def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": BODY}
