"""Wrong answers to the Step Functions lab."""

from tests.chapters.wrong_answers import Wrong

LABELS = '''
def label_batch(printer_arn: str, heads: int) -> dict:
    return {
        "StartAt": "PrintLabels",
        "States": {
            "PrintLabels": {
                "Type": "Map", "ItemsPath": "$.orders",CONCURRENCY
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Print",
                    "States": {
                        "Print": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                  "Parameters": {"FunctionName": printer_arn, "Payload.$": "$"},
                                  "OutputPath": "$.Payload",CATCH "End": True},
                        "Jammed": {"Type": "Pass", "Parameters": {"order.$": "$.order", "status": "JAMMED"}, "End": True},
                    },
                },
                "ResultPath": "$.labels", "End": True,
            }
        },
    }
'''
CATCH_JAM = '\n                                  "Catch": [{"ErrorEquals": [CAUGHT], "ResultPath": "$.error", "Next": "Jammed"}],'

PAYMENT = '''
def fixed_payment_definition(charge_function_arn: str) -> dict:
    definition = broken_payment_definition(charge_function_arn)
    charge = definition["States"]["Charge"]
    charge["Retry"] = [{"ErrorEquals": ["GatewayTimeout"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": BACKOFF}]
    charge["Catch"] = [{"ErrorEquals": [CAUGHT], "ResultPath": "$.error", "Next": "Declined"}]
    return definition
'''

SAGA = '''
def trip_saga(table_name: str, charge_function_arn: str) -> dict:
    def key(pk_format, *paths):
        return {"pk": {"S.$": f"States.Format('{pk_format}', {', '.join(paths)})"}}

    def put(pk_format, *paths, **extra):
        return {"TableName": table_name, "Item": {**key(pk_format, *paths), "trip": {"S.$": "$.trip_id"}}, **extra}

    undo = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "FIRST_UNDO"}
    return {
        "StartAt": "BookFlight",
        "States": {
            "BookFlight": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                           "Parameters": put("FLIGHT#{}", "$.trip_id"), "ResultPath": None,
                           "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "TripFailed"}],
                           "Next": "BookHotel"},
            "BookHotel": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                          "Parameters": put("HOTEL#{}#{}", "$.hotel", "$.night", ConditionExpression="attribute_not_exists(pk)"),
                          "ResultPath": None, "Catch": [undo], "Next": "ChargeCard"},
            "ChargeCard": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"FunctionName": charge_function_arn, "Payload": {
                               "payment_id.$": "$.trip_id", "card.$": "$.card", "amount.$": "$.amount"}},
                           "ResultPath": None, "Catch": [undo], "Next": "Booked"},
            "Booked": {"Type": "Succeed"},
            "CancelHotel": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                            "Parameters": {"TableName": table_name, "Key": key("HOTEL#{}#{}", "$.hotel", "$.night")},
                            "ResultPath": None, "Next": "AFTER_HOTEL"},
            "CancelFlight": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                             "Parameters": {"TableName": table_name, "Key": key("FLIGHT#{}", "$.trip_id")},
                             "ResultPath": None, "Next": "AFTER_FLIGHT"},
            "TripFailed": {"Type": "Fail", "Error": "TripFailed"},
        },
    }
'''

WRONG = [
    Wrong("labels", "no MaxConcurrency, and a catcher on States.ALL that records the refused labels as jammed",
          source=LABELS.replace("CONCURRENCY", "").replace("CATCH", CATCH_JAM.replace("CAUGHT", '"States.ALL"')),
          loses=("never throttled",), hidden_too=True),
    Wrong("labels", "the three heads of the example written in, not the argument",
          source=LABELS.replace("CONCURRENCY", ' "MaxConcurrency": 3,').replace("CATCH", CATCH_JAM.replace("CAUGHT", '"LabelJammed"')),
          loses=(), hidden_too=True),
    Wrong("payment", "the right error retried, but with no back-off (1 s, then 1 s)",
          source=PAYMENT.replace("BACKOFF", "1.0").replace("CAUGHT", '"CardDeclined"'),
          loses=("waited 1 s, then 2 s",), hidden_too=True),
    Wrong("payment", "the catcher names States.TaskFailed, which a bug matches too",
          source=PAYMENT.replace("BACKOFF", "2.0").replace("CAUGHT", '"States.TaskFailed"'),
          loses=("a bug",)),
    Wrong("saga", "every failure undoes the hotel, whoever holds the room",
          source=SAGA.replace("FIRST_UNDO", "CancelHotel").replace("AFTER_HOTEL", "CancelFlight")
          .replace("AFTER_FLIGHT", "TripFailed"),
          loses=("the other trip keeps its room",), hidden_too=True),
    Wrong("saga", "the flight undone before the hotel",
          source=SAGA.replace("FIRST_UNDO", "CancelFlight").replace("AFTER_FLIGHT", "CancelHotel")
          .replace("AFTER_HOTEL", "TripFailed"),
          loses=("newest first",)),
]
