"""A loopback S3 server for tests: moto's server mode on 127.0.0.1, one bucket, the AWS_* variables set."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer

AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")


@contextmanager
def loopback_s3(bucket: str = "tracer-test") -> Iterator[dict[str, str]]:
    """Start moto on a free loopback port, create ``bucket``, export the standard AWS variables;
    yields them (plus ``bucket``) and restores the environment and stops the server on exit."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "tracer-test-key",
        "AWS_SECRET_ACCESS_KEY": "tracer-test-secret",
        "AWS_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in AWS_VARS}
    os.environ.update(env)
    try:
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket=bucket)
        yield {**env, "bucket": bucket}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
