# A minimal Lambda runtime for hello.py, the Python peer of bench/node/bootstrap.js: the Runtime API
# loop (next invocation, call the handler, post its result), standard library only.
# AWS_LAMBDA_RUNTIME_API names the API.
import http.client
import json
import os

from hello import handler

BASE = "/2018-06-01/runtime/invocation"


def main():
    api = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    while True:
        api.request("GET", f"{BASE}/next")
        reply = api.getresponse()
        event = json.loads(reply.read())
        request_id = reply.getheader("Lambda-Runtime-Aws-Request-Id")
        body = json.dumps(handler(event, None)).encode()
        api.request(
            "POST",
            f"{BASE}/{request_id}/response",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        api.getresponse().read()


main()
