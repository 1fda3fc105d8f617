# The AWS CLI examples of the Secrets Manager CLI reference (awscli's examples/secretsmanager/*.rst),
# verbatim, in an order that gives each the state it assumes. Lines starting with "# setup:" prepare
# that state with ordinary CLI calls. Run by tests/e2e/test_cli_examples.py, one "### name" block at a
# time, against `strongroom dev --region us-west-2` (the examples' region) with the keyring key the
# update-secret example names.

### create-secret 1
aws secretsmanager create-secret \
    --name MyTestSecret \
    --secret-string file://mycreds.json

### put-secret-value 1
aws secretsmanager put-secret-value \
    --secret-id MyTestSecret \
    --secret-string "{\"user\":\"diegor\",\"password\":\"EXAMPLE-PASSWORD\"}"

### put-secret-value 2
aws secretsmanager put-secret-value \
    --secret-id MyTestSecret \
    --secret-string file://mycreds.json

### get-secret-value 1
aws secretsmanager get-secret-value \
    --secret-id MyTestSecret

### get-secret-value 2 (the published example lacks the backslash after MyTestSecret)
aws secretsmanager get-secret-value \
    --secret-id MyTestSecret \
    --version-stage AWSPREVIOUS

### describe-secret
aws secretsmanager describe-secret \
    --secret-id MyTestSecret

### list-secrets 1
aws secretsmanager list-secrets

### list-secrets 2
aws secretsmanager list-secrets \
    --filter Key="name",Values="Test"

### list-secrets 3
aws secretsmanager list-secrets \
    --filter Key="owning-service",Values="rds"

### list-secret-version-ids
aws secretsmanager list-secret-version-ids \
    --secret-id MyTestSecret

### update-secret 1
aws secretsmanager update-secret \
    --secret-id MyTestSecret \
    --description "This is a new description for the secret."

### update-secret 2
aws secretsmanager update-secret \
    --secret-id MyTestSecret \
    --kms-key-id arn:aws:kms:us-west-2:123456789012:key/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE

### update-secret-version-stage 1
# setup: versions with the examples' ids: 11111 current, 22222 pending
aws secretsmanager put-secret-value --secret-id MyTestSecret --secret-string one --client-request-token a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
aws secretsmanager put-secret-value --secret-id MyTestSecret --secret-string two --client-request-token a1b2c3d4-5678-90ab-cdef-EXAMPLE22222 --version-stages AWSPENDING
aws secretsmanager update-secret-version-stage \
    --secret-id MyTestSecret \
    --version-stage AWSCURRENT \
    --move-to-version-id a1b2c3d4-5678-90ab-cdef-EXAMPLE22222 \
    --remove-from-version-id a1b2c3d4-5678-90ab-cdef-EXAMPLE11111

### update-secret-version-stage 2
# setup: the version the example labels
aws secretsmanager put-secret-value --secret-id MyTestSecret --secret-string three --client-request-token EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE --version-stages CUSTOM
aws secretsmanager update-secret-version-stage \
    --secret-id MyTestSecret \
    --version-stage STAGINGLABEL1 \
    --move-to-version-id EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE

### update-secret-version-stage 3
# setup: STAGINGLABEL1 on the version the example removes it from
aws secretsmanager update-secret-version-stage --secret-id MyTestSecret --version-stage STAGINGLABEL1 --remove-from-version-id EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE --move-to-version-id a1b2c3d4-5678-90ab-cdef-EXAMPLE11111
aws secretsmanager update-secret-version-stage \
    --secret-id MyTestSecret \
    --version-stage STAGINGLABEL1 \
    --remove-from-version-id a1b2c3d4-5678-90ab-cdef-EXAMPLE11111

### tag-resource 1
aws secretsmanager tag-resource \
    --secret-id MyTestSecret \
    --tags Key=FirstTag,Value=FirstValue

### tag-resource 2
aws secretsmanager tag-resource \
    --secret-id MyTestSecret \
    --tags '[{"Key": "FirstTag", "Value": "FirstValue"}, {"Key": "SecondTag", "Value": "SecondValue"}]'

### untag-resource
aws secretsmanager untag-resource \
    --secret-id MyTestSecret \
    --tag-keys '[ "FirstTag", "SecondTag"]'

### put-resource-policy
aws secretsmanager put-resource-policy \
    --secret-id MyTestSecret \
    --resource-policy file://mypolicy.json \
    --block-public-policy

### get-resource-policy
aws secretsmanager get-resource-policy \
    --secret-id MyTestSecret

### delete-resource-policy
aws secretsmanager delete-resource-policy \
    --secret-id MyTestSecret

### validate-resource-policy
aws secretsmanager validate-resource-policy \
    --resource-policy file://mypolicy.json

### batch-get-secret-value 1
# setup: the three secrets the example reads
aws secretsmanager create-secret --name MySecret1 --secret-string s1
aws secretsmanager create-secret --name MySecret2 --secret-string s2
aws secretsmanager create-secret --name MySecret3 --secret-string s3
aws secretsmanager batch-get-secret-value \
    --secret-id-list MySecret1 MySecret2 MySecret3

### batch-get-secret-value 2
aws secretsmanager batch-get-secret-value \
    --filters Key="name",Values="MySecret"

### rotate-secret 1
# setup: the secret the rotation examples use
aws secretsmanager create-secret --name MyTestDatabaseSecret --secret-string file://mycreds.json
aws secretsmanager rotate-secret \
    --secret-id MyTestDatabaseSecret \
    --rotation-lambda-arn arn:aws:lambda:us-west-2:1234566789012:function:SecretsManagerTestRotationLambda \
    --rotation-rules "{\"ScheduleExpression\": \"cron(0 8/8 * * ? *)\", \"Duration\": \"2h\"}"

### rotate-secret 2
aws secretsmanager rotate-secret \
    --secret-id MyTestDatabaseSecret \
    --rotation-lambda-arn arn:aws:lambda:us-west-2:1234566789012:function:SecretsManagerTestRotationLambda \
    --rotation-rules "{\"ScheduleExpression\": \"rate(10 days)\"}"

### rotate-secret 3
aws secretsmanager rotate-secret \
    --secret-id MyTestDatabaseSecret

### cancel-rotate-secret
# setup: rotation configured on MyTestSecret
aws secretsmanager rotate-secret --secret-id MyTestSecret --rotation-lambda-arn arn:aws:lambda:us-west-2:123456789012:function:MyRotation --rotation-rules AutomaticallyAfterDays=30
aws secretsmanager cancel-rotate-secret \
    --secret-id MyTestSecret

### delete-secret 1
aws secretsmanager delete-secret \
    --secret-id MyTestSecret \
    --recovery-window-in-days 7

### restore-secret
aws secretsmanager restore-secret \
    --secret-id MyTestSecret

### delete-secret 2
aws secretsmanager delete-secret \
    --secret-id MyTestSecret \
    --force-delete-without-recovery

### create-secret 2
aws secretsmanager create-secret \
    --name MyTestSecret \
    --description "My test secret created with the CLI." \
    --secret-string "{\"user\":\"diegor\",\"password\":\"EXAMPLE-PASSWORD\"}"

### get-random-password
aws secretsmanager get-random-password \
    --require-each-included-type \
    --password-length 20
