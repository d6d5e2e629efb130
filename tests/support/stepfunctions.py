"""A state machine that uses every kind of state, shared by the Step Functions chapter's tests and the service's tests."""

from __future__ import annotations

FN = "arn:aws:lambda:us-east-1:123456789012:function:charge"

ORDER = {
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Choice",
                  "Choices": [{"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Review"},
                              {"And": [{"Variable": "$.country", "StringEquals": "FR"},
                                       {"Variable": "$.express", "BooleanEquals": True}], "Next": "Fulfil"}],
                  "Default": "Fulfil"},
        "Review": {"Type": "Wait", "Seconds": 1, "Next": "Fulfil"},
        "Fulfil": {"Type": "Parallel", "Next": "Lines",
                   "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                   "Branches": [
                       {"StartAt": "Record", "States": {"Record": {
                           "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True}}},
                       {"StartAt": "Ship", "States": {
                           "Ship": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Next": "Tell"},
                           "Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True}}}]},
        "Lines": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "Next": "Charge",
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Save",
                                    "States": {"Save": {"Type": "Task", "Resource": FN, "End": True}}}},
        "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": FN, "Payload.$": "$"},
                   "Retry": [{"ErrorEquals": ["GatewayTimeout"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}],
                   "Catch": [{"ErrorEquals": ["CardDeclined"], "Next": "Failed"}], "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "OrderFailed"},
    },
}


#: The trust policy of a role that Step Functions may assume.
STATES_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
