"""What do CloudWatch's alarms and metrics cost in the sandbox? (A benchmark, not a test.)

Prints:

* the median latency of ``sqs.send_message`` before CloudWatch is in use
  (the floor) and after, when every send also records ``NumberOfMessagesSent``
  and ``SentMessageSize``; and their ratio;
* the time one sandbox minute takes (queue gauges sampled, every alarm
  evaluated) with 10, 100 and 1,000 alarms, each on a metric with a data point
  every minute, and the cost per alarm.

Run: ``.venv/bin/python bench/bench_cloudwatch.py [rounds]``
"""

from __future__ import annotations

import statistics
import sys
import time

from common import median_ms

import labkit


def minute_cost_ms(lab: labkit.Sandbox, alarms: int, minutes: int = 5) -> float:
    """The median time of one sandbox minute with ``alarms`` alarms."""
    cw = lab.client("cloudwatch")
    for n in range(alarms):
        cw.put_metric_alarm(AlarmName=f"bench-{n}", Namespace="Bench", MetricName="Latency",
                            Dimensions=[{"Name": "Page", "Value": f"p{n % 50}"}], Statistic="Maximum", Period=60,
                            EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=100,
                            ComparisonOperator="GreaterThanThreshold")
    samples = []
    with lab.clock.frozen():
        for minute in range(minutes):
            cw.put_metric_data(Namespace="Bench", MetricData=[
                {"MetricName": "Latency", "Value": 50 + 100 * (minute % 2),
                 "Dimensions": [{"Name": "Page", "Value": f"p{page}"}]} for page in range(50)])
            started = time.perf_counter()
            lab.clock.advance(60)
            samples.append((time.perf_counter() - started) * 1000)
    names = [f"bench-{n}" for n in range(alarms)]
    for start in range(0, len(names), 100):
        cw.delete_alarms(AlarmNames=names[start:start + 100])
    return statistics.median(samples)


def main(rounds: int = 500) -> None:
    lab = labkit.start(reset=True)
    sqs = lab.client("sqs")
    # moto's SendMessage reads every message of the queue, so each measurement starts on an empty queue
    plain_url = sqs.create_queue(QueueName="bench-plain")["QueueUrl"]
    counted_url = sqs.create_queue(QueueName="bench-counted")["QueueUrl"]
    plain = median_ms(lambda: sqs.send_message(QueueUrl=plain_url, MessageBody="order"), rounds)
    lab.cloudwatch.sample_now()  # from here on, every send publishes its metrics
    counted = median_ms(lambda: sqs.send_message(QueueUrl=counted_url, MessageBody="order"), rounds)
    print(f"rounds per call: {rounds}")
    print(f"floor  sqs.send_message (no CloudWatch)       median {plain:6.3f} ms")
    print(f"sqs.send_message, metrics published           median {counted:6.3f} ms")
    print(f"ratio with metrics / plain                    {counted / plain:.2f}x")
    for alarms in (10, 100, 1000):
        cost = minute_cost_ms(lab, alarms)
        print(f"one sandbox minute, {alarms:>5} alarms             median {cost:8.2f} ms "
              f"({cost * 1000 / alarms:6.1f} us per alarm)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
