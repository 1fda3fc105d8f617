#!/usr/bin/env python3
"""Print docs/API-FIDELITY.md's per-operation table: every operation of botocore's Secrets
Manager model with its input members and the errors its model lists, each with a verdict and
the test that checked it.

The skeleton (operations, members, required flags, errors) comes from service-2.json; the
verdicts come from VERDICTS and RULES below, which name the tests that check each row. A row no
test checks says so ("untested"). Regenerate the section after changing either:

    python3 scripts/api-fidelity-table.py > /tmp/table.md   # then paste over the section
"""
import gzip
import json
import os
import sys

import botocore

OPS = "test_api_operations.py"
FID = "test_api_fidelity.py"
SEC = "test_secrets.py"
AUTH = "test_authorization.py"
REP = "test_replication.py"
PW = "test_random_password.py"
CLI = "test_cli_examples.py"
MODEL_LAYER = f"`{OPS}::test_missing_required_members_are_one_validation_exception`"
NOT_FOUND = f"`{OPS}::test_a_secret_that_does_not_exist_is_not_found`"
DELETED = f"`{OPS}::test_a_secret_scheduled_for_deletion`"
BAD_ID = f"`{FID}::test_a_secret_id_with_a_space_is_a_validation_error`"
TOKEN = f"`{SEC}::test_client_request_token_idempotency`"
NO_TOKEN = f"`{FID}::test_a_missing_client_request_token_is_answered_before_existence`"
AUDIT = "`test_audit.py::test_full_disk_refuses_requests_until_there_is_room` (any operation)"
NEXT_TOKEN = f"`{OPS}::test_a_bad_next_token_is_invalid_next_token_exception`"

# The operations whose SecretId FID checks for AWS's "Invalid name" ValidationException.
NAME_CHECKED = {"DeleteSecret", "DescribeSecret", "GetSecretValue", "ListSecretVersionIds", "PutSecretValue",
                "TagResource", "UntagResource", "UpdateSecret", "ValidateResourcePolicy"}
# The operations the deleted-secret probe sees refused with "marked for deletion".
REFUSED_WHEN_DELETED = {"CancelRotateSecret", "DeleteResourcePolicy", "DeleteSecret", "GetResourcePolicy",
                        "GetSecretValue", "PutResourcePolicy", "PutSecretValue", "RotateSecret", "TagResource",
                        "UntagResource", "UpdateSecret", "UpdateSecretVersionStage"}

UNTESTED = ("untested", "")

# (operation, member or "!Error") → (verdict, evidence). Checked by the tests named.
VERDICTS = {
    ("BatchGetSecretValue", "SecretIdList"): ("✔", f"`{SEC}::test_batch_get_secret_value`, `{FID}::test_batch_get_secret_value_reports_each_failure_as_get_secret_value_would`"),
    ("BatchGetSecretValue", "Filters"): ("✔", f"`{FID}::test_batch_get_secret_value_filters_as_list_secrets_does`, `{FID}::test_a_malformed_filter_is_refused`"),
    ("BatchGetSecretValue", "MaxResults"): ("✔ pages with Filters, refused without (message unverified)", f"`{OPS}::test_batch_get_secret_value_pages_only_with_filters`"),
    ("BatchGetSecretValue", "NextToken"): ("✔", f"{NEXT_TOKEN}, `{OPS}::test_batch_get_secret_value_pages_only_with_filters`"),
    ("BatchGetSecretValue", "!ResourceNotFoundException"): ("✔ an `Errors` entry", f"`{FID}::test_batch_get_secret_value_reports_each_failure_as_get_secret_value_would`"),
    ("BatchGetSecretValue", "!InvalidRequestException"): ("✔ an `Errors` entry (deleted secret)", f"`{FID}::test_batch_get_secret_value_reports_each_failure_as_get_secret_value_would`"),
    ("BatchGetSecretValue", "!InvalidParameterException"): ("✔ neither or both of SecretIdList/Filters; a filter without Key or Values", f"`SecretsOperationsTests.batchGetReportsPerSecretErrors`, `{FID}::test_a_malformed_filter_is_refused`"),
    ("BatchGetSecretValue", "!DecryptionFailure"): ("✔ an `Errors` entry (a value whose key left the keyring)", f"`{OPS}::test_a_value_whose_key_left_the_keyring_is_a_decryption_failure`"),
    ("CreateSecret", "Name"): ("✔", f"`{SEC}::test_errors_have_aws_types` (bad name, duplicate), {MODEL_LAYER}"),
    ("CreateSecret", "Description"): ("✔", f"`{SEC}::test_errors_have_aws_types` (length)"),
    ("CreateSecret", "KmsKeyId"): ("✔", f"`{SEC}::test_kms_key_change_rewraps`, `{AUTH}::test_cross_account_needs_resource_policy_and_a_shareable_key`"),
    ("CreateSecret", "SecretBinary"): ("✔", f"`{SEC}::test_binary_values`"),
    ("CreateSecret", "SecretString"): ("✔", f"`{SEC}::test_create_get_put_labels`, `{SEC}::test_errors_have_aws_types` (both values, length)"),
    ("CreateSecret", "Tags"): ("✔", f"`{FID}::test_a_secret_whose_tags_were_all_removed_lists_an_empty_tag_list`, `{AUTH}::test_abac_identity_policy_on_request_tags`"),
    ("CreateSecret", "AddReplicaRegions"): ("✔", f"`{REP}::test_describe_shows_primary_region_and_replication_status`, `{SEC}::test_a_single_node_refuses_replica_regions_it_has_no_node_for`"),
    ("CreateSecret", "ForceOverwriteReplicaSecret"): ("✔", f"`{REP}::test_a_name_clash_fails_unless_forced`"),
    ("CreateSecret", "Type"): ("✖ accepted and ignored", "no test; the model's newest member (what AWS does with it is not documented in the model beyond its shape)"),
    ("CreateSecret", "!InvalidParameterException"): ("✔ both values", f"`{OPS}::test_both_values_is_invalid_parameter`"),
    ("CreateSecret", "!InvalidRequestException"): ("✔ name scheduled for deletion", f"`{SEC}::test_delete_restore_and_recreate`"),
    ("CreateSecret", "!LimitExceededException"): ("untested", "no account-wide secret quota here"),
    ("CreateSecret", "!EncryptionFailure"): ("✔ an unknown KmsKeyId", f"`{SEC}::test_errors_have_aws_types` (type only; AWS's message unverified)"),
    ("CreateSecret", "!ResourceExistsException"): ("✔", f"`{SEC}::test_errors_have_aws_types`, {TOKEN}"),
    ("CreateSecret", "!ResourceNotFoundException"): ("not answered", "its cause for CreateSecret is not documented; an unknown key is EncryptionFailure"),
    ("CreateSecret", "!MalformedPolicyDocumentException"): ("not answered", "CreateSecret takes no policy; cause not documented"),
    ("CreateSecret", "!PreconditionNotMetException"): ("not answered", "cause not documented"),
    ("CreateSecret", "!DecryptionFailure"): ("not answered", "cause not documented for a create"),
    ("DeleteSecret", "RecoveryWindowInDays"): ("✔", f"`{SEC}::test_delete_restore_and_recreate`"),
    ("DeleteSecret", "ForceDeleteWithoutRecovery"): ("✔", f"`{SEC}::test_delete_restore_and_recreate`"),
    ("DeleteSecret", "!InvalidParameterException"): ("✔ window out of range; window with force", f"`{SEC}::test_delete_restore_and_recreate`"),
    ("DeleteSecret", "!InvalidRequestException"): ("✔ already scheduled; a primary with replicas", f"{DELETED}, `{REP}::test_a_primary_with_replicas_cannot_be_deleted`"),
    ("GetRandomPassword", "*"): ("✔", f"`{PW}::test_parameter_sets`, `{PW}::test_defaults_are_aws_defaults`, `{PW}::test_exclude_characters`"),
    ("GetRandomPassword", "!InvalidParameterException"): ("✔", f"`{PW}::test_excluding_a_whole_required_class_is_an_aws_error`, `{PW}::test_everything_excluded_is_an_aws_error`"),
    ("GetRandomPassword", "!InvalidRequestException"): ("not answered", "no cause documented for this operation"),
    ("GetSecretValue", "VersionId"): ("✔", f"`{SEC}::test_create_get_put_labels`"),
    ("GetSecretValue", "VersionStage"): ("✔", f"`{SEC}::test_create_get_put_labels`, `{AUTH}::test_condition_on_version_stage_and_source_ip`"),
    ("GetSecretValue", "!InvalidParameterException"): ("untested", ""),
    ("GetSecretValue", "!DecryptionFailure"): ("✔ a value whose key left the keyring (message Strongroom's)", f"`{OPS}::test_a_value_whose_key_left_the_keyring_is_a_decryption_failure`"),
    ("ListSecretVersionIds", "MaxResults"): ("✔", "`SecretStateListTests.versionIdPagination`"),
    ("ListSecretVersionIds", "NextToken"): ("✔", NEXT_TOKEN),
    ("ListSecretVersionIds", "IncludeDeprecated"): ("✔", f"`{SEC}::test_create_get_put_labels`"),
    ("ListSecrets", "IncludePlannedDeletion"): ("✔", f"`{SEC}::test_delete_restore_and_recreate`"),
    ("ListSecrets", "MaxResults"): ("✔", f"`{SEC}::test_list_filters_and_pagination`"),
    ("ListSecrets", "NextToken"): ("✔", f"`{SEC}::test_list_filters_and_pagination`, {NEXT_TOKEN}"),
    ("ListSecrets", "Filters"): ("✔ (see \"ListSecrets filters\")", f"`{FID}::test_a_name_filter_is_a_case_sensitive_prefix_of_the_whole_name` and the four after it, `ListSecretsMatchingTests`; **differs from the CLI reference's example 2** on purpose (`{CLI}`)"),
    ("ListSecrets", "SortOrder"): ("✔", f"`{SEC}::test_list_filters_and_pagination`"),
    ("ListSecrets", "SortBy"): ("✔", "`SecretStateListTests.listsOnlyTheCallersAccountOldestFirst` (unit; e2e untested)"),
    ("ListSecrets", "!InvalidParameterException"): ("✔ a filter without Key or Values", f"`{FID}::test_a_malformed_filter_is_refused`"),
    ("ListSecrets", "!InvalidRequestException"): ("not answered", "no cause documented for this operation"),
    ("PutResourcePolicy", "ResourcePolicy"): ("✔", f"`{SEC}::test_tags_policy_rotation`"),
    ("PutResourcePolicy", "BlockPublicPolicy"): ("✔", f"`{AUTH}::test_block_public_policy_and_validation`"),
    ("PutResourcePolicy", "!MalformedPolicyDocumentException"): ("✔", f"`{SEC}::test_tags_policy_rotation`"),
    ("PutResourcePolicy", "!PublicPolicyException"): ("✔", f"`{AUTH}::test_block_public_policy_and_validation`"),
    ("PutSecretValue", "SecretBinary"): ("✔", f"`{SEC}::test_binary_values`"),
    ("PutSecretValue", "SecretString"): ("✔", f"`{SEC}::test_create_get_put_labels`"),
    ("PutSecretValue", "VersionStages"): ("✔ answered in the order given", f"`{FID}::test_put_secret_value_answers_its_stages_in_the_order_given`"),
    ("PutSecretValue", "RotationToken"): ("✖ accepted and ignored", "no rotation functions run here (the rotation issue)"),
    ("PutSecretValue", "!InvalidParameterException"): ("✔ both values", f"`{OPS}::test_both_values_is_invalid_parameter`"),
    ("PutSecretValue", "!LimitExceededException"): ("✔ 20 labels; unlabelled versions past 100 removed once a day old", "`SecretStateVersionTests.atMostTwentyLabelsPerSecret`, `SecretStateVersionTests.deprecatedVersionsBeyondAHundredAreRemovedOnceADayOld` (unit)"),
    ("PutSecretValue", "!ResourceExistsException"): ("✔ token reused with another value", TOKEN),
    ("PutSecretValue", "!EncryptionFailure"): ("not answered", "a put reuses the secret's key, which the keyring holds"),
    ("PutSecretValue", "!DecryptionFailure"): ("not answered", "cause not documented for a put"),
    ("RemoveRegionsFromReplication", "RemoveReplicaRegions"): ("✔", f"`{REP}::test_removing_a_region_deletes_its_copy`"),
    ("RemoveRegionsFromReplication", "!InvalidParameterException"): ("✔ a region not replicated to", f"{DELETED} (message)"),
    ("ReplicateSecretToRegions", "AddReplicaRegions"): ("✔", f"`{REP}::test_describe_shows_primary_region_and_replication_status`"),
    ("ReplicateSecretToRegions", "ForceOverwriteReplicaSecret"): ("✔", f"`{REP}::test_a_forced_copy_over_a_third_regions_replica_tells_that_primary`"),
    ("ReplicateSecretToRegions", "!InvalidParameterException"): ("✔ a region outside the cluster (Strongroom's message)", f"`{SEC}::test_a_single_node_refuses_replica_regions_it_has_no_node_for`"),
    ("ReplicateSecretToRegions", "!InvalidRequestException"): ("✔ writes to a replica", f"`{REP}::test_writes_to_a_replica_are_refused_with_awss_error`"),
    ("RestoreSecret", "!InvalidRequestException"): ("untested", f"a secret not scheduled for deletion is restored as a no-op here (`{OPS}::test_restore_secret_on_a_secret_not_scheduled_for_deletion`); AWS's answer unverified"),
    ("RotateSecret", "RotationLambdaARN"): ("✖ any ARN accepted", "AWS answers AccessDeniedException for a function it cannot invoke; lands with the rotation issue"),
    ("RotateSecret", "RotationRules"): ("✔", f"`{SEC}::test_tags_policy_rotation`"),
    ("RotateSecret", "RotateImmediately"): ("✖ metadata only", "no rotation functions run here (the rotation issue)"),
    ("RotateSecret", "ExternalSecretRotationMetadata"): ("✖ accepted and ignored", "untested; the model's newest members"),
    ("RotateSecret", "ExternalSecretRotationRoleArn"): ("✖ accepted and ignored", "untested; the model's newest members"),
    ("RotateSecret", "!InvalidRequestException"): ("✔", f"`{FID}::test_rotate_secret_without_a_function_says_none_is_associated`, {DELETED}"),
    ("RotateSecret", "!InvalidParameterException"): ("✔ token missing", NO_TOKEN),
    ("StopReplicationToReplica", "!InvalidRequestException"): ("✔ not a replica", f"{DELETED} (message), `{REP}::test_stop_replication_to_replica_works_with_the_primary_down`"),
    ("TagResource", "Tags"): ("✔", f"`{SEC}::test_tags_policy_rotation`"),
    ("TagResource", "!InvalidParameterException"): ("✔ `aws:` keys, 50 tags", f"`{SEC}::test_tags_policy_rotation`"),
    ("UntagResource", "TagKeys"): ("✔", f"`{SEC}::test_tags_policy_rotation`, `{FID}::test_a_secret_whose_tags_were_all_removed_lists_an_empty_tag_list`"),
    ("UpdateSecret", "Description"): ("✔", f"`{FID}::test_update_secret_without_a_value_needs_no_token`"),
    ("UpdateSecret", "KmsKeyId"): ("✔ `\"\"` returns to the default key", f"`{FID}::test_an_empty_kms_key_id_returns_a_secret_to_the_default_key`, `{SEC}::test_kms_key_change_rewraps`"),
    ("UpdateSecret", "SecretBinary"): ("✔", f"`{OPS}::test_update_secret_answers_as_create_and_put_do`"),
    ("UpdateSecret", "SecretString"): ("✔", f"`{FID}::test_a_missing_client_request_token_is_answered_before_existence`"),
    ("UpdateSecret", "Type"): ("✖ accepted and ignored", "no test; the model's newest member"),
    ("UpdateSecret", "!InvalidRequestException"): ("✔ token missing with a value; deleted secret", f"{NO_TOKEN}, {DELETED}"),
    ("UpdateSecret", "!EncryptionFailure"): ("✔ an unknown KmsKeyId (message unverified)", f"`{OPS}::test_update_secret_answers_as_create_and_put_do`"),
    ("UpdateSecret", "!ResourceExistsException"): ("✔ token reused with another value", f"`{OPS}::test_update_secret_answers_as_create_and_put_do`"),
    ("UpdateSecret", "!LimitExceededException"): ("untested", "100 versions, as PutSecretValue"),
    ("UpdateSecret", "!MalformedPolicyDocumentException"): ("not answered", "cause not documented"),
    ("UpdateSecret", "!PreconditionNotMetException"): ("not answered", "cause not documented"),
    ("UpdateSecret", "!DecryptionFailure"): ("untested", "re-wrapping a version whose key left the keyring"),
    ("UpdateSecret", "!InvalidParameterException"): ("✔ both values", f"`{OPS}::test_both_values_is_invalid_parameter`"),
    ("UpdateSecretVersionStage", "VersionStage"): ("✔", f"`{CLI}::test_cli_reference_examples_run_unchanged` (the reference's examples)"),
    ("UpdateSecretVersionStage", "RemoveFromVersionId"): ("✔", "`SecretStateVersionTests.updateStageRules` (unit), the CLI examples"),
    ("UpdateSecretVersionStage", "MoveToVersionId"): ("✔", "`SecretStateVersionTests.updateStageRules` (unit), the CLI examples"),
    ("UpdateSecretVersionStage", "!InvalidParameterException"): ("✔ AWSCURRENT without a move, label not on version", "`SecretStateVersionTests.updateStageRules` (unit)"),
    ("UpdateSecretVersionStage", "!LimitExceededException"): ("✔ 20 labels", "`SecretStateVersionTests.atMostTwentyLabelsPerSecret` (unit)"),
    ("ValidateResourcePolicy", "SecretId"): ("✔ optional; authorized on the secret when given", f"{NOT_FOUND}, {BAD_ID}"),
    ("ValidateResourcePolicy", "ResourcePolicy"): ("✔ syntax, broad access, lockout", f"`{AUTH}::test_block_public_policy_and_validation`, `{FID}::test_validate_resource_policy_reports_a_policy_that_locks_the_caller_out`"),
    ("ValidateResourcePolicy", "!MalformedPolicyDocumentException"): ("? not answered", f"a policy that does not parse is `PolicyValidationPassed: false` with a SYNTAX_CHECK entry (`{OPS}::test_validate_resource_policy_reports_a_policy_that_does_not_parse`); when AWS raises the exception instead is unverified"),
    ("ValidateResourcePolicy", "!InvalidRequestException"): ("not answered", "works on a secret scheduled for deletion (" + DELETED + ")"),
}


def rule(operation, item, required):
    """The verdict of a row VERDICTS does not name."""
    if (operation, item) in VERDICTS:
        return VERDICTS[(operation, item)]
    if not item.startswith("!") and (operation, "*") in VERDICTS:
        return VERDICTS[(operation, "*")]
    if item == "SecretId":
        tests = [NOT_FOUND, MODEL_LAYER] + ([BAD_ID] if operation in NAME_CHECKED else [])
        return ("✔", ", ".join(tests))
    if item == "ClientRequestToken":
        tests = [TOKEN] + ([NO_TOKEN] if operation in {"PutSecretValue", "UpdateSecret", "RotateSecret"} else [])
        return ("✔", ", ".join(tests))
    if item == "!ResourceNotFoundException":
        return ("✔", NOT_FOUND)
    if item == "!InternalServiceError":
        return ("✔ audit or log write failed (500, retried by SDKs)", AUDIT)
    if item == "!InvalidNextTokenException":
        return ("✔", NEXT_TOKEN)
    if item == "!InvalidRequestException" and operation in REFUSED_WHEN_DELETED:
        return ("✔ secret scheduled for deletion", DELETED)
    if item == "!InvalidParameterException":
        return ("untested", "the model's only text is \"The parameter name or value is invalid\"; no cause is documented for this operation")
    if not item.startswith("!") and required:
        return ("✔ required", MODEL_LAYER)
    return UNTESTED


def main():
    path = os.path.join(os.path.dirname(botocore.__file__), "data", "secretsmanager", "2017-10-17", "service-2.json.gz")
    model = json.load(gzip.open(path))
    out = sys.stdout
    out.write(f"Generated by `scripts/api-fidelity-table.py` from botocore {botocore.__version__}'s model "
              f"({len(model['operations'])} operations). Members marked * are required. Tests are in "
              "`Tests/EndToEnd/` unless named as a Swift suite.\n")
    for operation in sorted(model["operations"]):
        spec = model["operations"][operation]
        shape = model["shapes"][spec["input"]["shape"]]
        required = set(shape.get("required", []))
        out.write(f"\n### {operation}\n\n| member / error | verdict | checked by |\n| --- | --- | --- |\n")
        for member in shape["members"]:
            verdict, evidence = rule(operation, member, member in required)
            star = "*" if member in required else ""
            out.write(f"| `{member}`{star} | {verdict} | {evidence} |\n")
        for error in [e["shape"] for e in spec.get("errors", [])]:
            verdict, evidence = rule(operation, "!" + error, False)
            out.write(f"| {error} | {verdict} | {evidence} |\n")


if __name__ == "__main__":
    main()
