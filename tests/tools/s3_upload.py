#!/usr/bin/env python3
"""Upload a folder's files to an S3 endpoint (moto) under a key prefix, with boto3.

usage: s3_upload.py ENDPOINT BUCKET PREFIX FOLDER [--folder-marker] [--public]
The bucket is created if missing. --folder-marker also writes the zero-byte "PREFIX" object
that the real nyc-tlc listing has. --public makes the objects public-read (like nyc-tlc)."""
import os
import sys

import boto3


def main():
    endpoint, bucket, prefix, folder = sys.argv[1:5]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                      aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    if "--folder-marker" in sys.argv:
        s3.put_object(Bucket=bucket, Key=prefix, Body=b"")
    n = 0
    for name in sorted(os.listdir(folder)):
        extra = {"ACL": "public-read"} if "--public" in sys.argv else None
        s3.upload_file(os.path.join(folder, name), bucket, prefix + name, ExtraArgs=extra)
        n += 1
    print(f"s3_upload: {n} objects to s3://{bucket}/{prefix}")


if __name__ == "__main__":
    main()
