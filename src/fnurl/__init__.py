"""fnurl: AWS Lambda function URLs on localhost, with SigV4 and IAM evaluated as AWS does."""

__version__ = "0.1.0"
